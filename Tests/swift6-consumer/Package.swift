// swift-tools-version: 6.2
// A fresh Swift 6 package that uses libcrochet as its users do: a versioned
// dependency. Tests/swift6-consumer/run.sh points LIBCROCHET_URL at a copy of
// the tree tagged with the header's version.
import Foundation
import PackageDescription

let url = ProcessInfo.processInfo.environment["LIBCROCHET_URL"] ?? "https://github.com/libcrochet/libcrochet"
let version = Version(stringLiteral: ProcessInfo.processInfo.environment["LIBCROCHET_VERSION"] ?? "0.2.0")

let package = Package(
    name: "Consumer",
    dependencies: [.package(url: url, from: version)],
    targets: [
        .executableTarget(name: "Consumer", dependencies: [.product(name: "Crochet", package: "libcrochet")]),
        // Must be rejected by the compiler (run.sh checks the diagnostics).
        .executableTarget(name: "RaceAtTopLevel", dependencies: [.product(name: "Crochet", package: "libcrochet")]),
        .executableTarget(name: "RaceWithLocal", dependencies: [.product(name: "Crochet", package: "libcrochet")]),
    ]
)
