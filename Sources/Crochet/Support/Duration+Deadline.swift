extension Duration {
    /// Nanoseconds, saturating.
    package var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        let (product, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return seconds < 0 ? Int64.min : Int64.max }
        let (sum, sumOverflow) = product.addingReportingOverflow(attoseconds / 1_000_000_000)
        if sumOverflow { return seconds < 0 ? Int64.min : Int64.max }
        return sum
    }

    /// A wait deadline; throws for a negative duration.
    package func deadline() throws(CrochetError) -> Deadline {
        guard let deadline = Deadline(after: self) else { throw CrochetError.invalidArgument("negative timeout") }
        return deadline
    }
}
