import Testing
import Foundation
import Crypto
import SWIM
@testable import Wire

/// A scratch directory removed when the test ends.
final class ScratchDirectory {
    let path: String
    init() throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("wire-tests-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }

    func file(_ name: String, _ contents: String) throws -> String {
        let file = path + "/" + name
        try Data(contents.utf8).write(to: URL(fileURLWithPath: file))
        return file
    }
}

@Suite struct KeyFileTests {
    @Test func keysSurviveAFileRoundTrip() throws {
        let scratch = try ScratchDirectory()
        let key = SymmetricKey.random()
        let contents = GossipKeyFile.contents(of: key)
        #expect(contents.count == 45 && contents.hasSuffix("\n"))
        let path = try scratch.file("gossip.key", contents)
        #expect(try GossipKeyFile.load(path) == key)
        // Surrounding whitespace (an editor's extra newline, CRLF) is tolerated.
        #expect(try GossipKeyFile.load(try scratch.file("crlf.key", "  " + contents.dropLast() + "\r\n\n")) == key)
    }

    @Test func keyringLoadsPrimaryFirstThenAcceptedWithoutDuplicates() throws {
        let scratch = try ScratchDirectory()
        let a = try scratch.file("a.key", GossipKeyFile.contents(of: keyA))
        let b = try scratch.file("b.key", GossipKeyFile.contents(of: keyB))
        let ring = try Keyring.load(primaryFile: b, acceptedFiles: [a, b])
        #expect(ring.primary == keyB)
        #expect(ring.accepted == [keyB, keyA])
    }

    @Test func badKeyFilesAreExplained() throws {
        let scratch = try ScratchDirectory()
        let cases: [(String, String)] = [
            (scratch.path + "/missing.key", "cannot be opened: No such file or directory"),
            (try scratch.file("empty.key", " \n"), "is empty"),
            (try scratch.file("junk.key", "not a key at all!\n"), "is not one line of base64"),
            (try scratch.file("two-lines.key", "AAAAAAAAAAAAAAAAAAAAAA==\nAAAAAAAAAAAAAAAAAAAAAA==\n"), "is not one line of base64"),
            (try scratch.file("short.key", "AAAAAAAAAAAAAAAAAAAAAA==\n"), "holds 16 bytes, but a gossip key is 32 bytes"),
            (try scratch.file("huge.key", String(repeating: "A", count: 5_000)), "is larger than 1024 bytes"),
            (scratch.path, "cannot be read: Is a directory"),
        ]
        for (path, problem) in cases {
            #expect {
                _ = try GossipKeyFile.load(path)
            } throws: { error in
                let text = String(describing: error)
                return text.contains(path) && text.contains(problem) && text.contains("licmesh keygen-gossip")
            }
        }
    }
}

@Suite struct StreamFrameTests {
    @Test func framesCarryPacketsAndSplitAtTheirBoundaries() throws {
        let sender = sealedCodec(keyA)
        let receiver = sealedCodec(keyA)
        var random = RandomMessages(seed: 0xF4A3)
        let messages = (0..<20).map { _ in random.message() }
        var stream: [UInt8] = []
        for message in messages { stream += try sender.frame(message) }

        // Feed the stream in uneven pieces, as a socket would deliver it.
        var buffer: [UInt8] = []
        var received: [Message] = []
        var offset = 0
        var pieceSize = 1
        while offset < stream.count {
            let end = min(stream.count, offset + pieceSize)
            buffer += stream[offset..<end]
            offset = end
            pieceSize = pieceSize * 3 % 997 + 1
            while let (packet, consumed) = try StreamFrame.next(in: buffer[...]) {
                received.append(try receiver.open(packet))
                buffer.removeFirst(consumed)
            }
        }
        #expect(received == messages)
        #expect(buffer.isEmpty)
    }

    @Test func oversizedFramesAreRefusedFromTheirPrefix() throws {
        #expect(try StreamFrame.length(prefix: [0, 0, 1, 0]) == 256)
        #expect(throws: WireError.tooLarge(size: 0xFFFF_FFFF, limit: StreamFrame.maximumLength)) {
            try StreamFrame.length(prefix: [0xFF, 0xFF, 0xFF, 0xFF])
        }
        #expect(throws: WireError.tooLarge(size: 2_000, limit: 1_500)) {
            try StreamFrame.next(in: [0, 0, 0x07, 0xD0, 1, 2][...], maximumLength: 1_500)
        }
        #expect(throws: WireError.truncated(offset: 0)) { try StreamFrame.length(prefix: [0, 0, 1]) }
        #expect(try StreamFrame.next(in: [0, 0, 0][...]) == nil)
        #expect(try StreamFrame.next(in: [0, 0, 0, 3, 1, 2][...]) == nil)
        let frame = try #require(try StreamFrame.next(in: [0, 0, 0, 2, 9, 8, 7][...]))
        #expect(Array(frame.packet) == [9, 8] && frame.consumed == 6)
    }
}
