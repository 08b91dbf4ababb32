import ArgumentParser

/// `tokenmill`: a PostgreSQL job table turned into an LLM factory.
@main
struct TokenMill: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenmill",
        abstract: "Turn a PostgreSQL job table into an overnight LLM factory.",
        subcommands: queueCommands + inferenceCommands + tokenizerCommands + generateCommands + distillCommands + quantizeCommands + verifyCommands
    )
}
