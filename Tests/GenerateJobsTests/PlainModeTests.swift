import Foundation
import Inference
import QueueCore
import Reasoning
import Testing
import Tokenizers
@testable import GenerateJobs

// Plain reasoning mode: models that write no thinking markers (Qwen2.5-Coder, SmolLM2 instruct).

func plainPayload(_ prompt: String, thinking: Int?, answer: Int?, model: String = TinyGen.path) -> GeneratePayload {
    var p = GeneratePayload(model: model, prompt: prompt)
    p.chat = false
    p.reasoning = .init(mode: "plain")
    p.budget = .init(policy: thinking == nil ? "unlimited" : "fixed")
    p.budget?.thinking = thinking
    p.budget?.answer = answer
    return p
}

/// The plain-mode markers (transition, answer prefix) as `tk` spells them.
func plainModeMarkers(_ tk: Tokenizer) -> ThinkingMarkers {
    ThinkingMarkers.plain(transition: tk.encode(ThinkingMarkers.plainTransitionText, addSpecial: false),
                          answerPrefix: tk.encode(ThinkingMarkers.plainAnswerPrefixText, addSpecial: false))
}

/// Feeds `texts` (each tokenized as ordinary text) through `c`; returns the actions.
@discardableResult
func feed(_ c: BudgetController, _ texts: [String], tokenizer tk: Tokenizer, stopAfter: Bool = false) -> [ControlAction] {
    var actions: [ControlAction] = []
    var n = 0
    for text in texts {
        for id in tk.encode(text, addSpecial: false, parseSpecial: false) {
            n += 1
            actions.append(c.next(token: id, context: ControlContext(sampledCount: n, generatedCount: n, isStopToken: false)))
        }
    }
    if stopAfter, let eog = tk.eogIDs.first {
        n += 1
        actions.append(c.next(token: eog, context: ControlContext(sampledCount: n, generatedCount: n, isStopToken: true)))
    }
    return actions
}

@Test func plainModeCutsAtTheBudgetExactlyAndAccountsTheTransitionAsForced() async throws {
    let m = try TinyGen.loaded(sequences: 1)
    defer { m.engine.shutdown() }
    let out = try await handler.generate(plainPayload("Q: 2+3?", thinking: 6, answer: 5), jobID: 1, batchID: nil,
                                         loaded: m, context: nil)
    #expect(out.reasoningMode == .plain)
    #expect(out.budgetHit)
    let transition = m.tokenizer.encode(ThinkingMarkers.plainTransitionText, addSpecial: false)
    let prefix = m.tokenizer.encode(ThinkingMarkers.plainAnswerPrefixText, addSpecial: false)
    // Exactly 6 thinking tokens (unless the 6th left a character half-written), then the injection.
    expectCut(out, at: 6, injected: transition + prefix, tokenizer: m.tokenizer)
    #expect(out.parts.filter { $0 == .answerPrefix }.count == prefix.count)
    // The answer's text opens with the injected prefix; the model then writes at least one token.
    #expect(out.answerText.hasPrefix(ThinkingMarkers.plainAnswerPrefixText))
    #expect(out.answerTokens > 0 && out.answerTokens <= 5)
    let accounted = out.thinkingTokens + out.forcedTokens + out.answerTokens
    #expect(out.tokenIDs.count == accounted || out.tokenIDs.count == accounted + 1)
}

@Test func plainModeAnswerCueEndsTheReasoningAndNothingIsForced() throws {
    let m = try TinyGen.loaded(sequences: 1)
    defer { m.engine.shutdown() }
    let tk = m.tokenizer
    let markers = plainModeMarkers(tk)
    let text = "12 + 7 = 19, so the answer is \\boxed{19}. More words after the answer, past the budget of forty thinking tokens, are left alone too."
    let c = BudgetController(forcer: BudgetForcer(plain: markers, budget: Budget(thinking: 40, answer: 200)), tokenizer: tk)
    let actions = feed(c, [text], tokenizer: tk)
    #expect(actions.allSatisfy { $0 == .continue })
    let f = c.forcer
    #expect(f.closedNaturally && !f.budgetHit && f.injectedTokens == 0)
    // Thinking = the tokens that end before the cue "answer is" starts; the rest is the answer.
    let cueStart = Array(text.utf8).count - Array(text[text.range(of: "answer is")!.lowerBound...].utf8).count
    var end = 0, reasoningTokens = 0
    for id in tk.encode(text, addSpecial: false, parseSpecial: false) {
        end += tk.pieceBytes(id).count
        if end <= cueStart { reasoningTokens += 1 } else { break }
    }
    #expect(reasoningTokens > 5 && f.thinkingTokens == reasoningTokens)
    #expect(c.parts.prefix(reasoningTokens).allSatisfy { $0 == .thinking })
    #expect(c.parts.dropFirst(reasoningTokens).allSatisfy { $0 == .answer })
    #expect(f.answerTokens == c.parts.count - reasoningTokens)
}

@Test func plainModeEndBeforeAnyAnswerIsReplacedByTheAnswerRequestAndTheBoxEndsIt() throws {
    let m = try TinyGen.loaded(sequences: 1)
    defer { m.engine.shutdown() }
    let tk = m.tokenizer
    let prefix = tk.encode(ThinkingMarkers.plainAnswerPrefixText, addSpecial: false)
    let markers = ThinkingMarkers.plain(transition: tk.encode(ThinkingMarkers.plainTransitionText, addSpecial: false),
                                        answerPrefix: prefix)
    let c = BudgetController(forcer: BudgetForcer(plain: markers, budget: Budget(thinking: 100, answer: 30)), tokenizer: tk)
    let actions = feed(c, ["Fatima now has 51 + 8 = 59 cards."], tokenizer: tk, stopAfter: true)
    #expect(actions.last == .replace(prefix))
    #expect(c.forcer.answerRequested && !c.forcer.budgetHit && c.forcer.injectedTokens == prefix.count)
    #expect(!c.parts.contains(.stop))
    // The model answers "59}" and is stopped as soon as the box closes.
    let after = feed(c, ["59", "}"], tokenizer: tk)
    #expect(after.dropLast().allSatisfy { $0 == .continue })
    #expect(after.last == ControlAction.stop(FinishReason.stop.rawValue))
    #expect(c.forcer.phase == .finished)
    // The verifier reads the answer's text (injected prefix + what the model wrote) as 59.
    let answerIDs = prefix + tk.encode("59}", addSpecial: false, parseSpecial: false)
    #expect(c.parts.filter { $0 == .answerPrefix || $0 == .answer }.count == answerIDs.count)
    let answerText = tk.decode(answerIDs)
    #expect(answerText == ThinkingMarkers.plainAnswerPrefixText + "59}")
    let verdict = Verifier.math.verify(answer: answerText, reference: "59")
    #expect(verdict.correct == true && verdict.extracted == "59")
    #expect(c.forcer.answerTokens == tk.encode("59}", addSpecial: false, parseSpecial: false).count)
}

/// The engine's `.replace`: the sampled token is withdrawn (not recorded, not fed) and the given
/// tokens take its place.
@Test func engineReplaceWithdrawsTheSampledToken() async throws {
    final class ReplaceFirst: SequenceController, @unchecked Sendable {
        var seen: [Int32] = []
        func next(token: Int32, context: ControlContext) -> ControlAction {
            seen.append(token)
            return seen.count == 1 ? .replace([5, 6]) : .continue
        }
    }
    let m = try TinyGen.loaded(sequences: 1)
    defer { m.engine.shutdown() }
    let prompt = m.tokenizer.encode("Q: 1+1?", addSpecial: true)
    let plain = try await m.engine.generate(GenerationRequest(prompt: prompt, maxTokens: 3))
    let r = ReplaceFirst()
    let replaced = try await m.engine.generate(GenerationRequest(prompt: prompt, maxTokens: 3, controller: r))
    #expect(r.seen.first == plain.tokens.first?.token)
    let firstTwo = Array(replaced.tokens.prefix(2))
    #expect(firstTwo.map(\.token) == [5, 6] && firstTwo.filter(\.injected).count == 2)
    #expect(replaced.tokens.count == 4)   // 2 injected + 2 more sampled; the withdrawn one counted against maxTokens
    let laterInjected = replaced.tokens.dropFirst(2).filter(\.injected).count
    #expect(laterInjected == 0)
}

@Test func reasoningModeComesFromThePayloadOrTheModel() throws {
    let m = try TinyGen.loaded(sequences: 1)
    defer { m.engine.shutdown() }
    #expect(m.reasoningMode == .markers)   // the tiny vocabulary has <think> and </think>
    var p = GeneratePayload(model: "m", prompt: "x")
    #expect(try p.reasoningMode(detected: .plain) == .plain)
    p.markers = .init(open: "<t>", close: "</t>", transition: nil)
    #expect(try p.reasoningMode(detected: .plain) == .markers)
    p.reasoning = .init(mode: "plain")
    #expect(try p.reasoningMode(detected: .markers) == .plain)
    p.reasoning = .init(mode: "sometimes")
    let bad = p
    #expect(throws: GenerateError.self) { try bad.reasoningMode(detected: .plain) }
    let built = try PromptBuilder.build(plainPayload("What is 2+3?", thinking: 5, answer: 5), tokenizer: m.tokenizer,
                                        template: m.chatTemplate, openMarker: "<think>", mode: .plain)
    #expect(!built.text.contains("<think>") && built.startsInThinking)
    var chat = plainPayload("What is 2+3?", thinking: 5, answer: 5)
    chat.chat = nil
    if case .success = m.chatTemplate {
        let c = try PromptBuilder.build(chat, tokenizer: m.tokenizer, template: m.chatTemplate, openMarker: "<think>", mode: .plain)
        #expect(c.text.contains(GeneratePayload.plainInstruction) && !c.text.contains("<think>"))
    }
}

@Test func budgetHintStatesTheItemsThinkingBudgetInTheInstruction() throws {
    let m = try TinyGen.loaded(sequences: 1)
    guard case .success = m.chatTemplate else { Issue.record("the tiny model has no chat template"); return }
    var p = plainPayload("What is 2+3?", thinking: 40, answer: 5)
    p.chat = nil
    let hint = GeneratePayload.budgetHint(thinkingTokens: 40)
    let plain = try PromptBuilder.build(p, tokenizer: m.tokenizer, template: m.chatTemplate, openMarker: "<think>", mode: .plain)
    #expect(!plain.text.contains("Use less than"))
    let hinted = try PromptBuilder.build(p, tokenizer: m.tokenizer, template: m.chatTemplate, openMarker: "<think>", mode: .plain,
                                         budgetHint: 40)
    #expect(hinted.text.contains(GeneratePayload.plainInstruction + " " + hint))
    #expect(hinted.tokens.count > plain.tokens.count)
    // A conversation gets the hint alone (no instruction of the payload's own to join).
    p.prompt = nil
    p.messages = [.init(role: "user", content: "What is 2+3?")]
    let conv = try PromptBuilder.build(p, tokenizer: m.tokenizer, template: m.chatTemplate, openMarker: "<think>", mode: .plain,
                                       budgetHint: 40)
    #expect(conv.text.contains("What is 2+3?\n\n" + hint) && !conv.text.contains(GeneratePayload.plainInstruction))
    // Plain chat (`none`) asks for no reasoning, so there is no budget to state.
    let none = try PromptBuilder.build(p, tokenizer: m.tokenizer, template: m.chatTemplate, openMarker: "<think>", mode: .none,
                                       budgetHint: 40)
    #expect(!none.text.contains("Use less than"))
}

// MARK: A real small model (SmolLM2-135M Instruct), when $TOKENMILL_MODELS_DIR has it and
// TOKENMILL_REAL_MODEL_TESTS=1 (a debug build takes minutes to load and run it: about 10 minutes on
// the 2 shared cores these tests were written on, so they are not part of the default suite).

let smolPath = ModelCache.resolve("smollm2-135m-instruct-q4_1.gguf")
let haveSmol = ProcessInfo.processInfo.environment["TOKENMILL_REAL_MODEL_TESTS"] == "1"
    && FileManager.default.fileExists(atPath: smolPath)

@Test(.enabled(if: haveSmol, "needs TOKENMILL_REAL_MODEL_TESTS=1 and smollm2-135m-instruct-q4_1.gguf in $TOKENMILL_MODELS_DIR"))
func smolLM2AnswersAfterACutInTheFormTheVerifierReads() async throws {
    let m = try LoadedModel(path: smolPath, threads: 2, maxSequences: 1, contextLength: 512)
    defer { m.engine.shutdown() }
    #expect(m.reasoningMode == .plain)
    var p = plainPayload("What is 2 + 3?", thinking: 8, answer: 16, model: smolPath)
    p.chat = true
    p.reasoning = nil   // auto: detected as plain
    p.reference = "5"
    let out = try await handler.generate(p, jobID: 1, batchID: nil, loaded: m, context: nil)
    #expect(out.reasoningMode == .plain && out.budgetHit && out.thinkingTokens == 8)
    #expect(out.answerTokens > 0)
    #expect(out.answerText.hasSuffix("}"))   // stopped as soon as the box closed
    let boxed = try #require(Verifier.math.verify(answer: out.answerText, reference: nil).extracted)
    #expect(out.extractedAnswer == boxed && !boxed.isEmpty && !boxed.contains("}"))
}

@Test(.enabled(if: haveSmol, "needs TOKENMILL_REAL_MODEL_TESTS=1 and smollm2-135m-instruct-q4_1.gguf in $TOKENMILL_MODELS_DIR"))
func smolLM2ReachingItsAnswerEarlyIsLeftAlone() async throws {
    let m = try LoadedModel(path: smolPath, threads: 2, maxSequences: 1, contextLength: 512)
    defer { m.engine.shutdown() }
    var p = plainPayload("What is 12 + 7?", thinking: 200, answer: 32, model: smolPath)
    p.chat = true
    let out = try await handler.generate(p, jobID: 2, batchID: nil, loaded: m, context: nil)
    #expect(!out.budgetHit && out.forcedTokens == 0)
    #expect(out.thinkingTokens < 200 && out.answerTokens > 0)
    #expect(!out.answerText.contains(ThinkingMarkers.plainAnswerPrefixText))
}

@Test func plainModeContinuationMovesTheEarlyAnswerIntoTheReasoningAndAppendsTheCue() throws {
    let m = try TinyGen.loaded(sequences: 1)
    defer { m.engine.shutdown() }
    let tk = m.tokenizer
    let markers = plainModeMarkers(tk)
    let wait = GeneratePayload.WaitSetting()
    let cue = tk.encode(wait.cueText, addSpecial: false)
    let forcer = BudgetForcer(plain: markers, budget: Budget(thinking: 400, answer: 60),
                              continuation: .init(cue: cue, below: wait.threshold(thinking: 400)))
    let c = BudgetController(forcer: forcer, tokenizer: tk)
    let first = feed(c, ["3 + 4 = 7, so the answer is \\boxed{7}."], tokenizer: tk, stopAfter: true)
    #expect(first.last == .replace(cue))
    #expect(c.forcer.continued && c.forcer.phase == .thinking && c.forcer.answerTokens == 0)
    #expect(!c.parts.contains(.answer) && !c.parts.contains(.stop))
    // It checks, answers again, and this time its end stands.
    let second = feed(c, [" Checking: 7 - 4 = 3. The answer is \\boxed{7}."], tokenizer: tk, stopAfter: true)
    #expect(second.allSatisfy { $0 == .continue })
    #expect(c.parts.last == .stop && c.forcer.closedNaturally)
    // Thinking = everything up to the second cue (the first answer and the cue included); the answer
    // is the second one.
    let answerIDs = zip(c.parts, [Int32](repeating: 0, count: c.parts.count)).filter { $0.0 == .answer }.count
    #expect(answerIDs == c.forcer.answerTokens)
    #expect(c.forcer.thinkingTokens + c.forcer.answerTokens + cue.count + 1 == c.parts.count)
    #expect(c.forcer.injectedTokens == cue.count)
}

@Test func waitSettingDecodesWithDefaultsAndRejectsBadFractions() throws {
    let p = try JSONDecoder().decode(GeneratePayload.BudgetSettings.self, from: Data(#"{"policy":"unlimited","wait":{}}"#.utf8))
    #expect(p.wait?.applies(to: .hard) == true && p.wait?.applies(to: .easy) == false)
    #expect(p.wait?.threshold(thinking: 901) == 450 && p.wait?.cueText == "\n\nWait")
    let some = try JSONDecoder().decode(GeneratePayload.WaitSetting.self,
                                        from: Data(#"{"below":0.25,"cue":"Hmm","difficulties":["easy","medium"]}"#.utf8))
    #expect(some.applies(to: .easy) && !some.applies(to: .hard) && some.threshold(thinking: 400) == 100 && some.cueText == "\n\nHmm")
    // The payload schema refuses what the handler could not use.
    let schema = try JSONSchema(text: GenerateKind.payloadSchema)
    let lines = [#"{"model": "m", "prompt": "x", "budget": {"policy": "unlimited", "wait": {"below": 0.5}}}"#,
                 #"{"model": "m", "prompt": "x", "budget": {"wait": {"below": 0}}}"#,
                 #"{"model": "m", "prompt": "x", "budget": {"wait": {"below": 1.5}}}"#,
                 #"{"model": "m", "prompt": "x", "budget": {"wait": {"difficulties": ["extreme"]}}}"#,
                 #"{"model": "m", "prompt": "x", "budget": {"wait": {"after": 3}}}"#]
    let v = validateJSONL(lines.joined(separator: "\n"), schema: schema)
    #expect(v.valid.count == 1 && v.bad.count == 4)
}

@Test func plainModeAnswerCueWithoutAnAnswerIsJudgedFromTheWholeOutput() {
    let thinking = "10 x 18 = 180; 180 x 0.9 = 162; 500 - 162 = 338, so the change is \\boxed{338}.\n\nLet me check this: 162 + 338 = 500, so the "
    // The cue "answer is" opened an answer with no value in it: the reasoning's last answer is read.
    let v = GenerateHandler.judge(thinking: thinking, answer: "answer is correct.", answerGiven: true, budgetHit: false,
                                  mode: .plain, reference: "338")
    #expect(v.extracted == "338" && v.correct == true)
    // An answer with a value is judged alone, even when the reasoning had another.
    let own = GenerateHandler.judge(thinking: thinking, answer: "answer is \\boxed{340}.", answerGiven: true, budgetHit: false,
                                    mode: .plain, reference: "338")
    #expect(own.extracted == "340" && own.correct == false)
    // A cut answer is judged by what the model wrote after the cut only.
    let cut = GenerateHandler.judge(thinking: thinking, answer: "\n\nFinal answer: \\boxed{}", answerGiven: true, budgetHit: true,
                                    mode: .plain, reference: "338")
    #expect(cut.correct != true)
    // Marker mode keeps reading the answer alone.
    let markers = GenerateHandler.judge(thinking: thinking, answer: "The answer is correct.", answerGiven: true, budgetHit: false,
                                        mode: .markers, reference: "338")
    #expect(markers.correct != true)
}
