"""What drgn answers about a core of target-readers, for reader-drgn.sh.

Run as a drgn script: drgn -q -c CORE drgn_ask.py UNTOUCHED_ADDR LEN.
Prints sections started by @@NAME lines: every thread with its stack trace
(function, source location and pc of each frame,
as drgn prints a frame) and the registers drgn
unwinds from for frame 0; the thread drgn takes as the crashed one; the
globals, and the heap list walked through its global pointer; a __thread
variable; the first and last 16 bytes of the never-written mapping.  An
exception is an answer too: its type and message are printed.
"""
import sys


def answer(what):
    try:
        return what()
    except Exception as e:  # the error is the reader's answer
        return 'error: %s: %s' % (type(e).__name__, e)


print('@@threads')
for t in sorted(prog.threads(), key=lambda t: t.tid):
    print('thread', t.tid)
    trace = answer(t.stack_trace)
    if isinstance(trace, str):
        print(trace)
        continue
    for frame in trace:
        print(str(frame))
    print('@@regs', t.tid)
    for name, value in sorted(trace[0].registers().items()):
        print('%s 0x%x' % (name, value))
    print('@@threads')

print('@@main')
print(answer(lambda: prog.crashed_thread().tid))

print('@@vars')
print(answer(lambda: hex(prog['lg_global'].value_())))
print(answer(lambda: prog['lg_message'].string_().decode()))
node = prog['lg_list']
while node:
    print(answer(lambda: '%#x %s' % (node.id.value_(), node.name.string_().decode())))
    node = node.next

print('@@tls')
print(answer(lambda: hex(prog['lg_tls'].value_())))

print('@@untouched')
addr, length = int(sys.argv[1], 0), int(sys.argv[2], 0)
print(answer(lambda: prog.read(addr, 16).hex()))
print(answer(lambda: prog.read(addr + length - 16, 16).hex()))
