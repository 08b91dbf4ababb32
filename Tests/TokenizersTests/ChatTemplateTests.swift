import Foundation
import Testing
@testable import Tokenizers

@Suite("Chat templates")
struct ChatTemplateTests {
    struct Case {
        var template: String
        var conversation: [ChatMessage]
        var addGenerationPrompt: Bool
        var expected: String
    }

    /// Expected renderings made by Jinja2 from the real templates (Fixtures/make_chat_expectations.py).
    static func cases() throws -> [Case] {
        let data = try Data(contentsOf: Fixtures.url("chat_expected", "json"))
        let root = try JSONSerialization.jsonObject(with: data) as! [String: Any]
        let convs = (root["conversations"] as! [[[String: String]]]).map { conv in
            conv.map { ChatMessage(role: ChatMessage.Role(rawValue: $0["role"]!)!, content: $0["content"]!) }
        }
        return (root["cases"] as! [[String: Any]]).map { c in
            Case(template: c["template"] as! String, conversation: convs[c["conversation"] as! Int],
                 addGenerationPrompt: c["add_generation_prompt"] as! Bool, expected: c["expected"] as! String)
        }
    }

    @Test func rendersLikeJinja() throws {
        let cases = try Self.cases()
        #expect(cases.count >= 40)
        for c in cases {
            let source = try String(contentsOf: Fixtures.url(c.template, ""), encoding: .utf8)
            let template = try ChatTemplate.detect(from: source)
            let got = template.render(c.conversation, addGenerationPrompt: c.addGenerationPrompt, bosToken: "<BOS>")
            #expect(got == c.expected, "\(c.template) gen=\(c.addGenerationPrompt)")
        }
    }

    @Test func detection() throws {
        func detect(_ file: String) throws -> ChatTemplate {
            try ChatTemplate.detect(from: String(contentsOf: Fixtures.url(file, ""), encoding: .utf8))
        }
        #expect(try detect("Qwen-Qwen2.5-7B-Instruct.jinja") == .qwen25)
        #expect(try detect("HuggingFaceTB-SmolLM2-135M-Instruct.jinja")
            == .chatml(defaultSystemPrompt: "You are a helpful AI assistant named SmolLM, trained by Hugging Face"))
        #expect(try detect("meta-llama-Meta-Llama-3-8B-Instruct.jinja") == .llama3)
        #expect(try detect("meta-llama-Llama-3.1-8B-Instruct.jinja") == .llama31(dateString: "26 Jul 2024"))
        #expect(try detect("deepseek-ai-DeepSeek-R1-Distill-Qwen-32B.jinja") == .deepseekR1)
        #expect(ChatTemplate.deepseekR1.generationPromptOpensThinking)

        do {
            _ = try ChatTemplate.detect(from: "{% for m in messages %}[INST] {{ m.content }} [/INST]{% endfor %}")
            Issue.record("an unknown template was accepted")
        } catch {
            #expect("\(error)".contains("[INST]"))
        }
        #expect(throws: ChatTemplateError.self) { try ChatTemplate.detect(from: nil) }
        // Qwen3's ChatML manages <think> itself: recognised as Qwen3, not as plain ChatML.
        #expect(try detect("Qwen-Qwen3-0.6B.jinja") == .qwen3(enableThinking: true))
        #expect(try String(contentsOf: Fixtures.url("Qwen-Qwen3-0.6B.jinja", ""), encoding: .utf8) == ChatTemplate.qwen3Source)
        // Other ChatML templates with their own <think> handling (QwQ: always opens <think>) are still refused.
        do {
            _ = try ChatTemplate.detect(from: "{{ '<|im_start|>assistant\\n<think>\\n' }}")
            Issue.record("a ChatML template with its own <think> was accepted")
        } catch {
            #expect("\(error)".contains("<think>"))
        }
    }

    /// Qwen3's template as Jinja2 renders it (Fixtures/make_qwen3_expectations.py; the same bytes from
    /// llama.cpp's Jinja engine, Fixtures/README.md), thinking and not, byte for byte.
    @Test func qwen3RendersLikeItsTemplate() throws {
        let data = try Data(contentsOf: Fixtures.url("qwen3_expected", "json"))
        let root = try JSONSerialization.jsonObject(with: data) as! [String: Any]
        let convs = (root["conversations"] as! [[[String: String]]]).map { conv in
            conv.map { ChatMessage(role: ChatMessage.Role(rawValue: $0["role"]!)!, content: $0["content"]!) }
        }
        let cases = root["cases"] as! [[String: Any]]
        #expect(cases.count == 16)
        for c in cases {
            let thinking = c["enable_thinking"] as! Bool, gen = c["add_generation_prompt"] as! Bool
            let conv = convs[c["conversation"] as! Int]
            let got = ChatTemplate.qwen3(enableThinking: thinking).render(conv, addGenerationPrompt: gen)
            #expect(Array(got.utf8) == Array((c["expected"] as! String).utf8),
                    "conversation \(c["conversation"]!) gen=\(gen) thinking=\(thinking)")
        }
        #expect(!ChatTemplate.qwen3(enableThinking: true).writesBOS)
    }

    @Test func qwen3SoftSwitchIsTheLatestOne() {
        #expect(ChatTemplate.qwen3ThinkingSwitch([.user("hi")]) == nil)
        #expect(ChatTemplate.qwen3ThinkingSwitch([.user("hi /no_think")]) == false)
        #expect(ChatTemplate.qwen3ThinkingSwitch([.system("/no_think"), .user("hi /think")]) == true)
        #expect(ChatTemplate.qwen3ThinkingSwitch([.user("a /think then /no_think")]) == false)
        #expect(ChatTemplate.qwen3ThinkingSwitch([.user("/no_think"), .assistant("/think"), .user("again")]) == false)
        #expect(ChatTemplate.qwen3ThinkingSwitch([.user("/no_think first"), .user("later /think")]) == true)
    }

    @Test func r1DistillPrompt() {
        let text = ChatTemplate.deepseekR1.render([.user("What is 2+3?")], addGenerationPrompt: true,
                                                  bosToken: "<｜begin▁of▁sentence｜>")
        #expect(text == "<｜begin▁of▁sentence｜><｜User｜>What is 2+3?<｜Assistant｜><think>\n")
    }

    @Test func encodeChatWithVocabulary() throws {
        let qwen = try Fixtures.tokenizer("qwen2")
        let template = try qwen.chatTemplate()
        #expect(template == .chatml(defaultSystemPrompt: "You are a helpful assistant"))
        let ids = qwen.encodeChat([.user("Hi")], template: template)
        #expect(ids.first == 151644)
        #expect(qwen.decode(ids, renderSpecial: true)
            == "<|im_start|>system\nYou are a helpful assistant<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n")

        // Llama 3 adds BOS itself, so the template must not write a second one.
        let llama3 = try Fixtures.tokenizer("llama-bpe")
        let l3 = llama3.encodeChat([.user("Hi")], template: .llama3)
        #expect(l3.filter { $0 == 128000 }.count == 1)
        #expect(l3.first == 128000)
    }
}
