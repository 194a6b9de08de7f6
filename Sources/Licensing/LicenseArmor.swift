#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The license file: a readable payload block and a base64 signature block between BEGIN/END lines.
///
///     # LicenseMesh license 3f2a9c1d0e8b7a65 ...      (comment lines: '#', unsigned, ignored)
///     -----BEGIN LICENSEMESH LICENSE-----
///     format: 1
///     ...                                            (the canonical payload, byte for byte)
///     -----END LICENSEMESH LICENSE-----
///     -----BEGIN LICENSEMESH SIGNATURE-----
///     <base64 of the 64-byte Ed25519 signature>
///     -----END LICENSEMESH SIGNATURE-----
///
/// Parsing is total and bounded: at most `maximumFileSize` bytes, LF line endings, exactly one block
/// of each kind, canonical base64 (so that no character of the signature block can change without
/// changing the signature), and only blank or `#` lines outside the blocks.
public enum LicenseArmor {
    public static let maximumFileSize = 64 * 1024

    static let beginLicense = "-----BEGIN LICENSEMESH LICENSE-----"
    static let endLicense = "-----END LICENSEMESH LICENSE-----"
    static let beginSignature = "-----BEGIN LICENSEMESH SIGNATURE-----"
    static let endSignature = "-----END LICENSEMESH SIGNATURE-----"

    public static func encode(_ signed: SignedLicense) -> String {
        "# LicenseMesh license \(signed.license.id). Everything between the BEGIN and END lines is signed:\n"
            + "# any change invalidates it. Check it with: licmesh license verify FILE --pubkey vendor.pub\n"
            + beginLicense + "\n"
            + String(decoding: signed.payload, as: UTF8.self)
            + endLicense + "\n"
            + beginSignature + "\n"
            + Base64.encode(signed.signature) + "\n"
            + endSignature + "\n"
    }

    /// The payload bytes and signature bytes of an armored file (the payload is not decoded here).
    static func decode(_ file: [UInt8]) throws(LicenseError) -> (payload: [UInt8], signature: [UInt8]) {
        guard file.count <= maximumFileSize else {
            throw .malformedFile(reason: "it is \(file.count) bytes; a license file is at most \(maximumFileSize) bytes")
        }
        guard !file.isEmpty else { throw .malformedFile(reason: "the file is empty") }
        if file.contains(UInt8(ascii: "\r")) {
            throw .malformedFile(reason: "it has Windows (CR LF) line endings; convert it back to LF line endings (e.g. with dos2unix)")
        }
        var lines = file.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        if file.last == UInt8(ascii: "\n") { lines.removeLast() }

        enum State { case before, inPayload, between, inSignature, after }
        var state = State.before
        var payload: [UInt8] = []
        var signatureText: [UInt8] = []
        for (index, line) in lines.enumerated() {
            let number = index + 1
            let text = String(decoding: line, as: UTF8.self)
            let isArmor = line.starts(with: "-----".utf8)
            switch state {
            case .before, .between, .after:
                if text == beginLicense, state == .before {
                    state = .inPayload
                } else if text == beginSignature, state == .between {
                    state = .inSignature
                } else if line.isEmpty || line.first == UInt8(ascii: "#") {
                    continue
                } else if isArmor {
                    let expected = state == .before ? beginLicense : state == .between ? beginSignature : "nothing more"
                    throw .malformedFile(reason: "line \(number): found '\(printable(text))' where \(expected) was expected")
                } else {
                    throw .malformedFile(reason: "line \(number): unexpected text outside the license blocks (only blank lines and '#' comments may surround them)")
                }
            case .inPayload:
                if text == endLicense {
                    state = .between
                } else if isArmor {
                    throw .malformedFile(reason: "line \(number): found '\(printable(text))' inside the license block; expected \(endLicense)")
                } else {
                    payload += line
                    payload.append(UInt8(ascii: "\n"))
                }
            case .inSignature:
                if text == endSignature {
                    state = .after
                } else if isArmor {
                    throw .malformedFile(reason: "line \(number): found '\(printable(text))' inside the signature block; expected \(endSignature)")
                } else {
                    signatureText += line
                }
            }
        }
        switch state {
        case .before: throw .malformedFile(reason: "no '\(beginLicense)' line; this is not a LicenseMesh license file")
        case .inPayload: throw .malformedFile(reason: "the license block has no '\(endLicense)' line (the file is cut short)")
        case .between: throw .malformedFile(reason: "no '\(beginSignature)' block after the license block (the file is cut short)")
        case .inSignature: throw .malformedFile(reason: "the signature block has no '\(endSignature)' line (the file is cut short)")
        case .after: break
        }
        guard let signature = Base64.decodeCanonical(signatureText) else {
            throw .malformedFile(reason: "the signature block is not valid base64")
        }
        guard signature.count == 64 else {
            throw .malformedFile(reason: "the signature is \(signature.count) bytes; an Ed25519 signature is 64 bytes")
        }
        return (payload, signature)
    }
}

/// Base64 (RFC 4648, with padding) over FoundationEssentials' Data, with a canonical-only decoder.
enum Base64 {
    static func encode(_ bytes: [UInt8]) -> String { Data(bytes).base64EncodedString() }

    /// Decodes only text that `encode` would produce for the result: lenient decoders ignore the
    /// unused low bits of the last character, which would let an edited character go unnoticed.
    static func decodeCanonical(_ text: [UInt8]) -> [UInt8]? {
        guard !text.isEmpty, text.count <= LicenseArmor.maximumFileSize,
              let data = Data(base64Encoded: Data(text)) else { return nil }
        let bytes = [UInt8](data)
        guard Array(encode(bytes).utf8) == text else { return nil }
        return bytes
    }
}
