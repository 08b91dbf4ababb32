import Dispatch
import Foundation

/// A wake-up flag for one waiting task at a time: `signal()` wakes the waiter (or the next `wait`), and `wait`
/// also returns after a timeout. No polling, no spare tasks: timeouts are dispatch timers.
final class WakeSignal: @unchecked Sendable {
    private let lock = NSLock()
    private var pending = false
    private var generation: UInt64 = 0
    private var waiter: (gen: UInt64, cont: CheckedContinuation<Void, Never>)?

    func signal() {
        lock.lock()
        if let w = waiter {
            waiter = nil
            lock.unlock()
            w.cont.resume()
        } else {
            pending = true
            lock.unlock()
        }
    }

    /// Returns when signalled (now, if a signal is pending) or after `timeout` seconds.
    func wait(timeout: Double) async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            lock.lock()
            if pending {
                pending = false
                lock.unlock()
                c.resume()
                return
            }
            generation &+= 1
            let gen = generation
            let previous = waiter
            waiter = (gen, c)
            lock.unlock()
            previous?.cont.resume() // one waiter at a time; never leak an earlier one
            DispatchQueue.global().asyncAfter(deadline: .now() + max(0, timeout)) { [weak self] in
                self?.fire(gen)
            }
        }
    }

    private func fire(_ gen: UInt64) {
        lock.lock()
        if let w = waiter, w.gen == gen {
            waiter = nil
            lock.unlock()
            w.cont.resume()
        } else {
            lock.unlock()
        }
    }
}
