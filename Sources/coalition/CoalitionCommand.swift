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
        subcommands: [Health.self])
}

/// Where the server is: `--url`, then `COALITION_URL`, then the default local server.
struct ServerOption: ParsableArguments {
    @Option(help: "Server URL (env COALITION_URL; default http://127.0.0.1:8080).")
    var url: String?

    var resolvedURL: String {
        url ?? ProcessInfo.processInfo.environment["COALITION_URL"].flatMap { $0.isEmpty ? nil : $0 } ?? "http://127.0.0.1:8080"
    }
}

/// Exit statuses of SPEC §5.
enum Exit {
    /// Usage, authentication or connection errors.
    static let trouble = ExitCode(2)
}

/// Prints `coalition: message` to standard error and exits with status 2.
func fail(_ message: String) -> ExitCode {
    FileHandle.standardError.write(Data("coalition: \(message)\n".utf8))
    return Exit.trouble
}

struct Health: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Check that the server is live and ready.")

    @OptionGroup var server: ServerOption

    func run() async throws {
        let outcome = try await withClient(server) { (client: APIClient) async throws(ClientError) in try await client.health() }
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

/// Runs `body` with a client for the resolved server and always shuts the client down;
/// client errors become one line on standard error and exit status 2.
func withClient<T>(_ server: ServerOption, _ body: (APIClient) async throws(ClientError) -> T) async throws -> T {
    let client: APIClient
    do {
        client = try APIClient(baseURL: server.resolvedURL, timeout: .seconds(10))
    } catch {
        throw fail(error.description)
    }
    do {
        let result = try await body(client)
        await client.shutdown()
        return result
    } catch {
        await client.shutdown()
        throw fail(error.description)
    }
}
