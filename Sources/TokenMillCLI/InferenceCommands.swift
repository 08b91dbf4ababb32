import ArgumentParser

/// Inference commands: run, bench, inspect.
let inferenceCommands: [ParsableCommand.Type] = []
