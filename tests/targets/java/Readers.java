// What a Java user asks of a core of a JVM, in one small process.
//
// Threads sleeping (Thread.sleep), waiting (Object.wait), parked
// (LockSupport.park) and blocked on a monitor the main thread holds, each
// in a method of its own; a map and a linked list reached from static
// fields.  Prints the facts the core must show as key=value lines, then
// "ready=1" once every thread is in its state; on SIGUSR1 it checks that
// nothing changed, wakes every thread, joins them and exits 0 (1 with
// "check-failed: ..." on stderr).
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.locks.LockSupport;
import sun.misc.Signal;

public class Readers {
    static final class Item {
        final int id;
        final String name;
        final Item next;

        Item(int id, String name, Item next) {
            this.id = id;
            this.name = name;
            this.next = next;
        }
    }

    static final Map<String, Integer> CATALOG = new HashMap<>();
    static Item head;
    static long counter = 0x1122334455667788L;
    static final Object waitLock = new Object();
    static final Object monitor = new Object();
    static volatile boolean stop;
    static final StringBuilder failures = new StringBuilder();

    static synchronized void fail(String what) {
        failures.append("check-failed: ").append(what).append('\n');
    }

    static void sleepLong() {
        try {
            Thread.sleep(24L * 3600 * 1000);
            fail("sleepLong woke by itself");
        } catch (InterruptedException e) {
            if (!stop)
                fail("sleepLong interrupted early");
        }
    }

    static void waitForever() {
        synchronized (waitLock) {
            while (!stop) {
                try {
                    waitLock.wait();
                } catch (InterruptedException e) {
                    fail("waitForever interrupted");
                }
            }
        }
    }

    static void parkForever() {
        while (!stop)
            LockSupport.park(waitLock);
    }

    static void blockOnMonitor() {
        synchronized (monitor) {
            if (!stop)
                fail("blockOnMonitor entered before the main thread let go");
        }
    }

    public static void main(String[] args) throws Exception {
        String[] names = { "alpha", "beta", "gamma" };
        for (int i = names.length - 1; i >= 0; i--) {
            CATALOG.put(names[i], 0x1d00 + i);
            head = new Item(0x1d00 + i, names[i], head);
        }
        CountDownLatch usr1 = new CountDownLatch(1);
        Signal.handle(new Signal("USR1"), s -> usr1.countDown());
        Thread[] threads = {
            new Thread(Readers::sleepLong, "sleeper"),
            new Thread(Readers::waitForever, "waiter"),
            new Thread(Readers::parkForever, "parker"),
            new Thread(Readers::blockOnMonitor, "blocked"),
        };
        Thread.State[] want = { Thread.State.TIMED_WAITING, Thread.State.WAITING,
            Thread.State.WAITING, Thread.State.BLOCKED };
        synchronized (monitor) {
            for (Thread t : threads)
                t.start();
            for (int i = 0; i < threads.length; i++) {
                for (int n = 0; threads[i].getState() != want[i]; n++) {
                    if (n > 1000) {
                        System.err.println(threads[i].getName() + " never got to " + want[i]);
                        System.exit(99);
                    }
                    Thread.sleep(10);
                }
            }
            System.out.println("pid=" + ProcessHandle.current().pid());
            System.out.println("counter=0x" + Long.toHexString(counter));
            for (String n : names)
                System.out.println("catalog." + n + "=0x" + Integer.toHexString(CATALOG.get(n)));
            System.out.println("threads=sleeper waiter parker blocked");
            System.out.println("methods=Readers.sleepLong Readers.waitForever Readers.parkForever Readers.blockOnMonitor");
            System.out.println("ready=1");
            System.out.flush();

            usr1.await();
            if (counter != 0x1122334455667788L || CATALOG.size() != 3 || CATALOG.get("beta") != 0x1d01)
                fail("static fields changed");
            for (int i = 0; i < threads.length; i++)
                if (threads[i].getState() != want[i])
                    fail(threads[i].getName() + " is " + threads[i].getState() + ", not " + want[i]);
            stop = true;
        }
        threads[0].interrupt();
        synchronized (waitLock) {
            waitLock.notifyAll();
        }
        LockSupport.unpark(threads[2]);
        for (Thread t : threads) {
            t.join(10000);
            if (t.isAlive())
                fail(t.getName() + " did not finish");
        }
        if (failures.length() > 0) {
            System.err.print(failures);
            System.out.println("check=failed");
            System.exit(1);
        }
        System.out.println("check=ok");
    }
}
