import ArgumentParser
import CoalitionClient
import CoalitionModels
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

struct Login: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Log in and save the session token in the config file.",
        discussion: """
            The password is read without echo on a terminal; otherwise from the first line of \
            standard input (after the email when --email is not given).
            """)

    @OptionGroup var server: ServerOption

    @Option(help: "Email address (asked for when not given).")
    var email: String?

    func run() async throws {
        let interactive = isatty(STDIN_FILENO) == 1
        var email = self.email ?? ""
        if email.isEmpty {
            if interactive { prompt("Email: ") }
            email = (readLine(strippingNewline: true) ?? "").trimmingCharacters(in: .whitespaces)
        }
        guard !email.isEmpty else { throw fail("no email given") }
        let password = interactive ? readPasswordWithoutEcho("Password: ") : readLine(strippingNewline: true)
        guard let password, !password.isEmpty else { throw fail("no password given") }
        let url = server.resolvedURL
        let session = try await withClient(server, authenticated: false) { (client: APIClient) async throws(ClientError) in
            try await client.login(email: email, password: password)
        }
        do {
            try ClientConfig(url: url, token: session.token).save()
        } catch {
            throw fail("\(error)")
        }
        print("Logged in to \(url) as \(session.user.email) (\(session.user.role)); session expires \(ISO8601DateFormatter().string(from: session.expiresAt)).")
    }

    func prompt(_ text: String) {
        FileHandle.standardError.write(Data(text.utf8))
    }

    /// Reads one line from the terminal with echo turned off, restoring the terminal after.
    func readPasswordWithoutEcho(_ text: String) -> String? {
        prompt(text)
        var saved = termios()
        guard tcgetattr(STDIN_FILENO, &saved) == 0 else { return readLine(strippingNewline: true) }
        var silent = saved
        silent.c_lflag &= ~tcflag_t(ECHO)
        silent.c_lflag |= tcflag_t(ECHONL)
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &silent)
        defer { tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved) }
        return readLine(strippingNewline: true)
    }
}

struct Logout: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Revoke the current session and remove it from the config file.")

    @OptionGroup var server: ServerOption

    func run() async throws {
        guard let token = server.resolvedToken else { throw fail("not logged in (no token from --token, COALITION_TOKEN or the config file)") }
        // clc_<12-character key id>_<secret>: the listing shows `clc_<key id>` as the prefix.
        let parts = token.split(separator: "_", omittingEmptySubsequences: false)
        guard parts.count >= 3, parts[0] == "clc" else { throw fail("the token is not a Coalition token") }
        let prefix = "clc_\(parts[1])"
        let revoked = try await withClient(server) { (client: APIClient) async throws(ClientError) -> Bool in
            do throws(ClientError) {
                guard let mine = try await client.tokens().first(where: { $0.prefix == prefix }) else { return false }
                _ = try await client.revokeToken(id: mine.id)
                return true
            } catch let error where error.httpStatus == 401 {
                return false  // already expired or revoked: nothing left to revoke
            }
        }
        if var config = ClientConfig.load(), config.token == token {
            config.token = nil
            do { try config.save() } catch { throw fail("\(error)") }
        }
        print(revoked ? "Logged out; the session is revoked." : "Logged out.")
    }
}

struct Whoami: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show the user of the current token.")

    @OptionGroup var server: ServerOption
    @OptionGroup var format: OutputOption

    func run() async throws {
        let me = try await withClient(server) { (client: APIClient) async throws(ClientError) in try await client.me() }
        switch format.output {
        case .json: try Output.printJSON(me)
        case .csv: Output.write(Output.csv(header: ["email", "role", "organization"], rows: [[me.user.email, me.role.rawValue, me.organization.slug]]))
        case .table:
            Output.write("email         \(me.user.email)\nrole          \(me.role)\norganization  \(me.organization.slug)\n")
        }
    }
}
