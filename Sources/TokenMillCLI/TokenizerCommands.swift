import ArgumentParser

/// Tokenizer commands: tokenize.
let tokenizerCommands: [ParsableCommand.Type] = []
