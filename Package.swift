// swift-tools-version: 6.2
// libcrochet: crochet's API for native code. The Swift core (`Crochet`) is
// usable from Swift directly; `CrochetC` wraps it in the C ABI of
// include/crochet.h and ships as the self-contained libcrochet.so.
//
// Supported: Linux (glibc), x86-64 and AArch64; Swift 6.2 tools or later.
// Every target builds in the Swift 6 language mode (complete concurrency
// checking); the library targets treat warnings as errors. Only the C-ABI
// product (`crochet`) needs unsafe linker flags; the `Crochet` product
// needs none, so it works as a version-pinned dependency.
import Foundation
import PackageDescription

/// The soname, derived from the header's version macros (the one place the
/// version is written): libcrochet.so.MAJOR.MINOR before 1.0, MAJOR after.
let soname: String = {
    let header = (try? String(contentsOfFile: "\(Context.packageDirectory)/include/crochet.h", encoding: .utf8)) ?? ""
    func macro(_ name: String) -> String? {
        for line in header.split(separator: "\n") {
            let words = line.split(separator: " ", omittingEmptySubsequences: true)
            if words.count >= 3, words[0] == "#define", words[1] == name { return String(words[2]) }
        }
        return nil
    }
    // SwiftPM evaluates a dependency's manifest where the package's files
    // cannot be read; there only the `Crochet` product can be used anyway
    // (the C-ABI product needs unsafe flags), so the soname does not matter.
    // Tests/abi/check-abi.sh checks it on every in-tree build.
    guard let major = macro("CROCHET_VERSION_MAJOR"), let minor = macro("CROCHET_VERSION_MINOR") else {
        return "libcrochet.so"
    }
    return major == "0" ? "libcrochet.so.\(major).\(minor)" : "libcrochet.so.\(major)"
}()

/// Swift 6 mode, warnings are errors (ignored by SwiftPM for remote packages).
let libraryLanguage: [SwiftSetting] = [.swiftLanguageMode(.v6), .treatAllWarnings(as: .error)]

let package = Package(
    name: "libcrochet",
    products: [
        .library(name: "Crochet", targets: ["Crochet"]),
        .library(name: "crochet", type: .dynamic, targets: ["CrochetC"]),
        // Optional: swift-log and swift-metrics bridges (see README).
        .library(name: "CrochetObservability", targets: ["CrochetObservability"]),
    ],
    dependencies: [
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.4.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.5.0"),
    ],
    targets: [
        .systemLibrary(name: "CFFI", pkgConfig: "libffi",
                       providers: [.apt(["libffi-dev"])]),
        .target(name: "CLinux", linkerSettings: [.linkedLibrary("stdc++")]),  // __cxa_demangle
        .target(
            name: "Crochet",
            dependencies: ["CFFI", "CLinux"],
            swiftSettings: libraryLanguage
        ),
        .target(
            name: "CrochetObservability",
            dependencies: [
                "Crochet",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
            ],
            swiftSettings: libraryLanguage
        ),
        .systemLibrary(name: "CCrochetHeader"),
        .target(
            name: "CrochetC",
            dependencies: ["Crochet", "CCrochetHeader"],
            exclude: ["exports.map"],
            swiftSettings: libraryLanguage + [.enableExperimentalFeature("CImplementation")],
            linkerSettings: [
                .unsafeFlags([
                    "-static-stdlib",
                    "-Xlinker", "--version-script=\(Context.packageDirectory)/Sources/CrochetC/exports.map",
                    "-Xlinker", "-soname=\(soname)",
                ]),
            ]
        ),
        .executableTarget(
            name: "SwiftDemo",
            dependencies: ["Crochet"],
            path: "examples/swift",
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
        .testTarget(
            name: "CrochetTests",
            dependencies: ["Crochet"],
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
        .testTarget(
            name: "CrochetObservabilityTests",
            dependencies: [
                "CrochetObservability",
                "Crochet",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "MetricsTestKit", package: "swift-metrics"),
            ],
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
    ]
)
