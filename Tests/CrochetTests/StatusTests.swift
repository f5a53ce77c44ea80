import Foundation
import Testing
@testable import Crochet

/// The status table is ABI: its values, names and messages must match the C
/// contract (shared/API.md) exactly, and the Swift errors must map onto it.
@Suite("Status codes")
struct StatusTests {
    /// The contract's table, read from the one place it is written: the
    /// header's `#define CROCHET_E... -N` lines.
    static let contract: [(String, Int32)] = {
        let header = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("include/crochet.h")
        let text = (try? String(contentsOf: header, encoding: .utf8)) ?? ""
        var table: [(String, Int32)] = []
        for line in text.split(separator: "\n") {
            let words = line.split(separator: " ", omittingEmptySubsequences: true)
            guard words.count >= 3, words[0] == "#define", words[1].hasPrefix("CROCHET_"),
                  words[1] == "CROCHET_OK" || words[1].hasPrefix("CROCHET_E"),
                  let value = Int32(words[2]) else { continue }
            table.append((String(words[1]), value))
        }
        return table
    }()

    @Test("raw values and names match the header's table")
    func valuesMatchContract() throws {
        #expect(Self.contract.count >= 13)
        for (name, raw) in Self.contract {
            let status = try #require(Status(rawValue: raw), "\(name)")
            #expect("\(status.name)" == name)
            #expect("\(Status.name(for: raw))" == name)
        }
    }

    @Test("the table has exactly the header's codes")
    func tableIsComplete() {
        #expect(Status.allCases.count == Self.contract.count)
        #expect(Set(Status.allCases.map(\.rawValue)) == Set(Self.contract.map(\.1)))
        #expect("\(Status.name(for: -999))" == "CROCHET_EUNKNOWN")
    }

    @Test("every status has a distinct, non-empty name and message")
    func namesAndMessagesAreDistinct() {
        let names = Status.allCases.map { "\($0.name)" }
        let messages = Status.allCases.map { "\($0.message)" }
        #expect(Set(names).count == names.count)
        #expect(Set(messages).count == messages.count)
        #expect(!messages.contains(""))
        #expect(names.allSatisfy { $0.hasPrefix("CROCHET_") })
    }

    @Test("message(for:) gives each known code its own message")
    func messageForKnownCodes() {
        for status in Status.allCases {
            #expect("\(Status.message(for: status.rawValue))" == "\(status.message)")
        }
    }

    @Test("unknown codes get the generic message, distinct from every known one",
          arguments: [Int32(1), -13, 42, -1000, Int32.min, Int32.max])
    func unknownCodesGetGenericMessage(code: Int32) {
        #expect(Status(rawValue: code) == nil)
        #expect("\(Status.message(for: code))" == "\(Status.unknownMessage)")
        #expect(!Status.allCases.map { "\($0.message)" }.contains("\(Status.unknownMessage)"))
        #expect(!"\(Status.unknownMessage)".isEmpty)
        #expect("\(Status.name(for: code))" == "CROCHET_EUNKNOWN")
    }

    @Test("log levels have the C API's values")
    func logLevels() {
        #expect(LogLevel.debug.rawValue == 10)
        #expect(LogLevel.info.rawValue == 20)
        #expect(LogLevel.warning.rawValue == 30)
        #expect(LogLevel.error.rawValue == 40)
    }
}

@Suite("CrochetError")
struct CrochetErrorTests {
    @Test("every error status but .ok maps to a CrochetError carrying that status")
    func statusRoundTrip() {
        for status in Status.allCases where status != .ok && status != .invalidArgument {
            #expect(CrochetError(status: status).status == status)
        }
        #expect(CrochetError.invalidArgument("x").status == .invalidArgument)
        #expect(CrochetError.alreadyFired.status == .already)
    }

    @Test("only .failed, .cancelled and .stopped carry a failure")
    func failureOnlyForOutcomes() {
        let f = Failure(code: 7, message: "seven")
        #expect(CrochetError.failed(f).failure === f)
        #expect(CrochetError.cancelled(f).failure === f)
        #expect(CrochetError.stopped(f).failure === f)
        for error: CrochetError in [.timedOut(), .invalidArgument("x"), .wrongState, .onReactorThread,
                                    .notFound, .outOfMemory, .alreadyFired, .notReactorThread] {
            #expect(error.failure == nil, "\(error)")
        }
    }

    @Test("outcome errors made from a status alone get a failure with that status's code")
    func defaultFailures() throws {
        #expect(try #require(CrochetError(status: .stopped).failure).code == Status.stopped.rawValue)
        #expect(try #require(CrochetError(status: .cancelled).failure).code == Status.cancelled.rawValue)
        #expect(try #require(CrochetError(status: .failed).failure).code == Status.failed.rawValue)
    }

    @Test("descriptions start with the C name and say what happened")
    func descriptions() {
        #expect(CrochetError.timedOut().description == "CROCHET_ETIMEDOUT: no result within the timeout")
        #expect(CrochetError.invalidArgument("negative timeout").description == "CROCHET_EINVAL: negative timeout")
        let f = Failure(code: 42, message: "the answer")
        #expect(CrochetError.failed(f).description == "CROCHET_EFAILED: the answer")
    }
}

@Suite("Failure")
struct FailureTests {
    @Test("a failure keeps its code, message and Swift error, and captures a traceback")
    func fields() {
        let f = Failure(code: 42, message: "the answer", error: TestError.code(42))
        #expect(f.code == 42)
        #expect(f.message == "the answer")
        #expect(String(cString: f.cMessage) == "the answer")
        #expect(f.error as? TestError == .code(42))
        #expect(!f.traceback.isEmpty)
        #expect(String(cString: f.cTraceback) == f.traceback)
    }

    @Test("the description names a known status code, or says 'code N' for others")
    func description() {
        #expect(Failure(code: -4, message: "gone").description == "CROCHET_ECANCELLED (-4): gone")
        #expect(Failure(code: 42, message: "x").description == "code 42: x")
    }

    @Test("a message with unusual characters survives the C copy")
    func unusualMessage() {
        let text = "naïve – 日本語 \u{1F600} \"quoted\" %s %n"
        #expect(Failure(code: 1, message: text).message == text)
        #expect(Failure(code: 1, message: "").message == "")
    }

    @Test("a C message of NULL becomes the empty string")
    func nullCMessage() {
        #expect(Failure(code: 3, cMessage: nil, skipFrames: 1).message == "")
    }
}
