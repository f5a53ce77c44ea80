// C-convention functions with 32 parameters (the contract's CROCHET_MAX_ARGS)
// for the tests that call through libffi (ForeignCallTests.swift).

/// Returns the sum of (i + 1) * a_i over 32 Int64 arguments, so every
/// argument's position matters.
let weightedSum32: @convention(c) (Int64, Int64, Int64, Int64, Int64, Int64, Int64, Int64, Int64, Int64, Int64, Int64, Int64, Int64, Int64, Int64, Int64, Int64, Int64, Int64, Int64, Int64, Int64, Int64, Int64, Int64, Int64, Int64, Int64, Int64, Int64, Int64) -> Int64 = { a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, a14, a15, a16, a17, a18, a19, a20, a21, a22, a23, a24, a25, a26, a27, a28, a29, a30, a31 in
    let all: [Int64] = [a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, a14, a15, a16, a17, a18, a19, a20, a21, a22, a23, a24, a25, a26, a27, a28, a29, a30, a31]
    var sum: Int64 = 0
    for (i, a) in all.enumerated() { sum &+= Int64(i + 1) &* a }
    return sum
}

/// Alternating Double and Int32 arguments (16 of each): returns the weighted
/// sum of the doubles (weight i + 1) plus the weighted sum of the ints
/// (weight 1000 * (i + 1)).
let mixedSum32: @convention(c) (Double, Int32, Double, Int32, Double, Int32, Double, Int32, Double, Int32, Double, Int32, Double, Int32, Double, Int32, Double, Int32, Double, Int32, Double, Int32, Double, Int32, Double, Int32, Double, Int32, Double, Int32, Double, Int32) -> Double = { a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, a14, a15, a16, a17, a18, a19, a20, a21, a22, a23, a24, a25, a26, a27, a28, a29, a30, a31 in
    let doubles: [Double] = [a0, a2, a4, a6, a8, a10, a12, a14, a16, a18, a20, a22, a24, a26, a28, a30]
    let ints: [Int32] = [a1, a3, a5, a7, a9, a11, a13, a15, a17, a19, a21, a23, a25, a27, a29, a31]
    var sum = 0.0
    for (i, d) in doubles.enumerated() { sum += Double(i + 1) * d }
    for (i, v) in ints.enumerated() { sum += 1000 * Double(i + 1) * Double(v) }
    return sum
}
