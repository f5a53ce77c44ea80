import CCrochetHeader
import Crochet

@c @implementation
public func crochet_setup() -> Int32 { Engine.setup().rawValue }

@c @implementation
public func crochet_no_setup() -> Int32 { Engine.noSetup().rawValue }

@c @implementation
public func crochet_run() -> Int32 { Engine.run().rawValue }

@c @implementation
public func crochet_stop() -> Int32 { Engine.stop().rawValue }

@c @implementation
public func crochet_in_reactor_thread() -> Int32 { Engine.inReactorThread ? 1 : 0 }
