import ArgumentParser
import CPUFeatures
import Foundation
import TensorKernels

/// `tokenmill`: a PostgreSQL job table turned into an LLM factory.
@main
struct TokenMill: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenmill",
        abstract: "Turn a PostgreSQL job table into an overnight LLM factory.",
        subcommands: queueCommands + inferenceCommands + tokenizerCommands + generateCommands + distillCommands + quantizeCommands + verifyCommands
            + [BatchCommand.self]
    )

    /// Checks the host before running anything built for the x86-64-v3 baseline (this module and
    /// CPUFeatures are built for plain x86-64), and the `TOKENMILL_KERNELS` setting.
    static func main() async {
        if let problem = hostProblem() {
            FileHandle.standardError.write(Data(("tokenmill: " + problem + "\n").utf8))
            Foundation.exit(1)
        }
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            exit(withError: error)
        }
    }

    /// Why this host cannot run tokenmill, or nil.
    static func hostProblem() -> String? {
        let host = CPUFeatures.host
        if !host.meetsBaseline {
            return "this CPU lacks \(host.missingBaseline.joined(separator: ", ")), which this build needs "
                + "(x86-64-v3: AVX2, FMA, F16C, BMI2; see docs/kernels.md to build for an older baseline)"
        }
        do { _ = try KernelLevel.fromEnvironment() } catch { return error.description }
        return nil
    }
}
