import CLibPQ
import Foundation
import Synchronization

/// Waits for libpq sockets to become readable or writable: one thread blocked in `epoll_wait`
/// for every connection of the process, instead of a blocked thread per statement.
///
/// A connection sends its statements itself (libpq in non-blocking mode, on the task's own
/// thread); when libpq has no result yet, the task suspends here until the server's answer
/// arrives and is resumed by the reactor thread. Registrations are one-shot: each wait arms the
/// socket once, and the event disarms it.
final class Reactor: Sendable {
    static let shared = Reactor()

    enum Interest { case read, readOrWrite }

    private let epoll: Int32
    private let waiters = Mutex<[Int32: CheckedContinuation<Void, Never>]>([:])

    private init() {
        epoll = epoll_create1(Int32(EPOLL_CLOEXEC))
        precondition(epoll >= 0, "epoll_create1 failed: errno \(errno)")
        let thread = Thread { [self] in run() }
        thread.name = "coalition-pq-reactor"
        thread.start()
    }

    /// Suspends until `socket` is ready for `interest`, or reports an error or hang-up (the
    /// caller then finds out what happened from libpq). A `cancellable` wait also ends when its
    /// task is cancelled; a statement's wait is not (the statement is cancelled on the server,
    /// whose answer ends the wait).
    func wait(_ socket: Int32, for interest: Interest, cancellable: Bool = false) async {
        guard cancellable else { return await arm(socket, for: interest, cancellable: false) }
        await withTaskCancellationHandler {
            await arm(socket, for: interest, cancellable: true)
        } onCancel: {
            waiters.withLock { $0.removeValue(forKey: socket) }?.resume()
        }
    }

    private func arm(_ socket: Int32, for interest: Interest, cancellable: Bool) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            // Stored before the socket is armed: the event may fire at once on the reactor thread.
            let previous = waiters.withLock { $0.updateValue(continuation, forKey: socket) }
            previous?.resume()
            var event = epoll_event()
            var mask = EPOLLIN.rawValue | EPOLLRDHUP.rawValue | EPOLLONESHOT.rawValue
            if interest == .readOrWrite { mask |= EPOLLOUT.rawValue }
            event.events = mask
            event.data.fd = socket
            // MOD re-arms a socket seen before; a new one (or one whose number was closed and
            // reused: closing drops it from the set) is added.
            var ok = epoll_ctl(epoll, EPOLL_CTL_MOD, socket, &event) == 0
            if !ok, errno == ENOENT { ok = epoll_ctl(epoll, EPOLL_CTL_ADD, socket, &event) == 0 }
            if !ok {
                // Not pollable (closed under us): let the caller ask libpq, which reports the error.
                waiters.withLock { $0.removeValue(forKey: socket) }?.resume()
                return
            }
            // Cancelled before the continuation was stored: the handler found nothing to resume.
            if cancellable, Task.isCancelled { waiters.withLock { $0.removeValue(forKey: socket) }?.resume() }
        }
    }

    private func run() {
        var events = [epoll_event](repeating: epoll_event(), count: 64)
        while true {
            let count = events.withUnsafeMutableBufferPointer { epoll_wait(epoll, $0.baseAddress, Int32($0.count), -1) }
            if count < 0 {
                if errno == EINTR { continue }
                fatalError("epoll_wait failed: errno \(errno)")
            }
            for i in 0..<Int(count) {
                let socket = events[i].data.fd
                waiters.withLock { $0.removeValue(forKey: socket) }?.resume()
            }
        }
    }
}
