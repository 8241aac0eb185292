import ArgumentParser
import CoalitionClient
import CoalitionModels
import Foundation

@main
struct CoalitionCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "coalition",
        abstract: "Command-line client of the Coalition server.",
        version: CoalitionVersion.current,
        subcommands: [
            Health.self, Login.self, Logout.self, Whoami.self, Organizations.self, Projects.self, Milestones.self,
            Standards.self, Submissions.self, Reports.self, Footprints.self,
        ])

    /// As ArgumentParser's own `main`, except that usage errors exit with status 2 (SPEC §5)
    /// instead of 64.
    static func main() async {
        do {
            var command = try await asyncParseAsRoot(nil)
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            if exitCode(for: error) == .validationFailure {
                var message = fullMessage(for: error)
                if !message.hasSuffix("\n") { message += "\n" }
                FileHandle.standardError.write(Data(message.utf8))
                Foundation.exit(Exit.trouble.rawValue)
            }
            exit(withError: error)
        }
    }
}

/// Where the server is and who we are: flags, then `COALITION_URL` / `COALITION_TOKEN`, then
/// the config file written by `coalition login`, then the default local server.
struct ServerOption: ParsableArguments {
    @Option(help: "Server URL (env COALITION_URL, then the config file; default http://127.0.0.1:8080).")
    var url: String?

    @Option(help: "API token (env COALITION_TOKEN, then the config file written by login).")
    var token: String?

    @Option(help: .hidden) var pageSize: Int = 500

    static let defaultURL = "http://127.0.0.1:8080"

    static func env(_ name: String) -> String? {
        ProcessInfo.processInfo.environment[name].flatMap { $0.isEmpty ? nil : $0 }
    }

    var resolvedURL: String {
        url ?? Self.env("COALITION_URL") ?? ClientConfig.load()?.url ?? Self.defaultURL
    }

    /// The token to send; the config file's only when it was issued by the resolved server.
    var resolvedToken: String? {
        if let token, !token.isEmpty { return token }
        if let token = Self.env("COALITION_TOKEN") { return token }
        guard let config = ClientConfig.load(), let token = config.token, !token.isEmpty else { return nil }
        return ClientConfig.sameServer(config.url, resolvedURL) ? token : nil
    }
}

/// Exit statuses of SPEC §5.
enum Exit {
    /// Refused by the server (not found, conflict, invalid).
    static let refused = ExitCode(1)
    /// Usage, authentication or connection errors.
    static let trouble = ExitCode(2)
}

/// Prints `coalition: message` to standard error and returns the exit status (2 by default).
func fail(_ message: String, status: ExitCode = Exit.trouble) -> ExitCode {
    FileHandle.standardError.write(Data("coalition: \(message)\n".utf8))
    return status
}

struct Health: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Check that the server is live and ready.")

    @OptionGroup var server: ServerOption

    func run() async throws {
        let outcome = try await withClient(server, authenticated: false) { (client: APIClient) async throws(ClientError) in try await client.health() }
        print("live   \(outcome.live.status) (version \(outcome.live.version ?? "?"))")
        switch outcome.ready {
        case .success(let status):
            print("ready  \(status.status) (schema \(status.schemaVersion.map(String.init) ?? "?"))")
        case .failure(let error):
            print("ready  no: \(error.description)")
            throw ExitCode(1)
        }
    }
}

/// Runs `body` with a client for the resolved server (and token, when `authenticated`) and
/// always shuts the client down; client errors become one line on standard error and exit
/// status 2 (connection, authentication) or 1 (other refusals).
func withClient<T>(_ server: ServerOption, authenticated: Bool = true, _ body: (APIClient) async throws(ClientError) -> T) async throws -> T {
    let client: APIClient
    do {
        client = try APIClient(baseURL: server.resolvedURL, token: authenticated ? server.resolvedToken : nil, pageSize: server.pageSize, timeout: .seconds(60))
    } catch {
        throw fail(error.description)
    }
    do {
        let result = try await body(client)
        await client.shutdown()
        return result
    } catch {
        await client.shutdown()
        throw fail(error.description, status: ExitCode(error.exitStatus))
    }
}
