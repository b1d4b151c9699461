// A busy JVM to dump: threads sleeping (Thread.sleep), waiting
// (Object.wait) and parked (LockSupport.park), and a writer that keeps
// writing its heap: HEAP_MIB of long[] chunks, RATE random pages a second
// (a long in each), also allocating short-lived garbage so that the
// collector runs.  The writer's loop measures the longest time it went
// without running from "ready" on (the pause a dumper imposes).
//
//   java Busy HEAP_MIB RATE
//
// Prints "ready" once every thread is in its state; on SIGUSR1 prints
// "maxgap_us N writes N" and exits 0.
import java.util.concurrent.locks.LockSupport;
import sun.misc.Signal;

public class Busy {
    static final Object waitLock = new Object();
    static volatile boolean started;
    static volatile long maxGapNs;
    static volatile long writes;
    static long[][] heap;
    static Object sink;

    static void sleeper() {
        for (;;) {
            try {
                Thread.sleep(3600L * 1000);
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    static void waiter() {
        synchronized (waitLock) {
            for (;;) {
                try {
                    waitLock.wait();
                } catch (InterruptedException e) {
                    return;
                }
            }
        }
    }

    static void parker() {
        for (;;)
            LockSupport.park(waitLock);
    }

    static void writer(long rate) {
        final int perChunk = (1 << 20) / 8;	// 1 MiB chunks
        long seed = 0x9e3779b97f4a7c15L, done = 0, t0 = System.nanoTime(), last = t0;
        for (;;) {
            long t = System.nanoTime();
            if (started && t - last > maxGapNs)
                maxGapNs = t - last;
            last = t;
            long want = rate <= 0 ? done + 256 : (t - t0) / 1000 * rate / 1000000;
            while (done < want) {
                seed ^= seed << 13;
                seed ^= seed >>> 7;
                seed ^= seed << 17;
                long page = (seed >>> 1) % ((long) heap.length * 256);
                long[] c = heap[(int) (page / 256)];
                c[(int) (page % 256) * 512 + 1] = done++;
                if ((done & 255) == 0)
                    sink = new byte[64 << 10];	// garbage: young collections
            }
            writes = done;
            if (rate > 0)
                LockSupport.parkNanos(200_000);
        }
    }

    static Thread start(String name, Runnable r) {
        Thread t = new Thread(r, name);
        t.setDaemon(true);
        t.start();
        return t;
    }

    static void waitState(Thread t, Thread.State s) throws InterruptedException {
        while (t.getState() != s)
            Thread.sleep(5);
    }

    public static void main(String[] args) throws Exception {
        int mib = Integer.parseInt(args[0]);
        long rate = Long.parseLong(args[1]);
        heap = new long[mib][];
        for (int i = 0; i < mib; i++) {
            heap[i] = new long[(1 << 20) / 8];
            for (int k = 0; k < heap[i].length; k += 512)
                heap[i][k] = i;	// every page touched
        }
        Signal.handle(new Signal("USR1"), sig -> {
            System.out.println("maxgap_us " + maxGapNs / 1000 + " writes " + writes);
            System.out.flush();
            Runtime.getRuntime().halt(0);
        });
        Thread s = start("sleeper", Busy::sleeper);
        Thread w = start("waiter", Busy::waiter);
        Thread p = start("parker", Busy::parker);
        start("writer", () -> writer(rate));
        waitState(s, Thread.State.TIMED_WAITING);
        waitState(w, Thread.State.WAITING);
        waitState(p, Thread.State.WAITING);
        Thread.sleep(200);
        started = true;
        System.out.println("ready");
        System.out.flush();
        for (;;)
            Thread.sleep(3600L * 1000);
    }
}
