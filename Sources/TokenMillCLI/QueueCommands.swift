import ArgumentParser

/// Queue commands: migrate, worker, enqueue, status, cancel, retry, prune.
let queueCommands: [ParsableCommand.Type] = []
