import PQ

/// Why the role the server connects as must not serve: a superuser, a role with BYPASSRLS, or
/// one that owns (or inherits the owner of) tables of the schema would read past row-level
/// security, so every member would see every organization's data.
public struct ServingRoleRefusal: Error, Sendable, CustomStringConvertible {
    public var role: String
    public var reasons: [String]

    public var description: String {
        "refusing to serve as role \"\(role)\": it \(reasons.joined(separator: " and it ")), so row-level security would not apply; "
            + "serve as the app role (coalition_app: no superuser, NOBYPASSRLS, owns nothing) in DATABASE_URL, "
            + "and keep the owner role for COALITION_OWNER_DATABASE_URL (migrations)"
    }
}

extension Store {
    /// Checks the role of the pool's connections before serving; throws the refusal.
    public func checkServingRole() async throws {
        let row = try await pool.query("""
            SELECT current_user AS role, r.rolsuper AS superuser, r.rolbypassrls AS bypass,
                   (SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                    WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p')
                      AND pg_has_role(current_user, c.relowner, 'USAGE'))::bigint AS owned
            FROM pg_roles r WHERE r.rolname = current_user
            """)[0]
        var reasons: [String] = []
        if try row.decode("superuser", as: Bool.self) { reasons.append("is a superuser") }
        if try row.decode("bypass", as: Bool.self) { reasons.append("has BYPASSRLS") }
        let owned: Int = try row.decode("owned")
        if owned > 0 { reasons.append("owns \(owned) table(s) of the schema") }
        if !reasons.isEmpty { throw ServingRoleRefusal(role: try row.decode("role"), reasons: reasons) }
    }
}
