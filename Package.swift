// swift-tools-version: 6.1
// libcrochet: crochet's API for native code. The Swift core (`Crochet`) is
// usable from Swift directly; `CrochetC` wraps it in the C ABI of
// include/crochet.h and ships as the self-contained libcrochet.so.
import PackageDescription

let package = Package(
    name: "libcrochet",
    products: [
        .library(name: "Crochet", targets: ["Crochet"]),
        .library(name: "crochet", type: .dynamic, targets: ["CrochetC"]),
    ],
    targets: [
        .systemLibrary(name: "CFFI", pkgConfig: "libffi",
                       providers: [.apt(["libffi-dev"])]),
        .target(name: "CLinux", linkerSettings: [.linkedLibrary("stdc++")]),  // __cxa_demangle
        .target(
            name: "Crochet",
            dependencies: ["CFFI", "CLinux"],
            swiftSettings: [.swiftLanguageMode(.v5)]
        ),
        .systemLibrary(name: "CCrochetHeader"),
        .target(
            name: "CrochetC",
            dependencies: ["Crochet", "CCrochetHeader"],
            exclude: ["exports.map"],
            swiftSettings: [
                .swiftLanguageMode(.v5),
                .enableExperimentalFeature("CImplementation"),
            ],
            linkerSettings: [
                .unsafeFlags([
                    "-static-stdlib",
                    "-Xlinker", "--version-script=\(Context.packageDirectory)/Sources/CrochetC/exports.map",
                    "-Xlinker", "-soname=libcrochet.so.0",
                ]),
            ]
        ),
        .executableTarget(
            name: "SwiftDemo",
            dependencies: ["Crochet"],
            path: "examples/swift",
            swiftSettings: [.swiftLanguageMode(.v5)]
        ),
        .testTarget(
            name: "CrochetTests",
            dependencies: ["Crochet"],
            swiftSettings: [.swiftLanguageMode(.v5)]
        ),
    ]
)
