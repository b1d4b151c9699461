"""Run lldb commands one by one and print their answers, for the reader tests.

Loaded into lldb with "command script import"; the commands come from the
file named by $LG_LLDB_CMDS, one a line; a line starting with @@ is printed
as it is (a section marker), "@thread N" selects thread #N silently ("thread
select" has lldb print the thread's stop, out of order with the answers).  Synchronous mode: lldb's asynchronous
process-stop reports would otherwise land anywhere in the output.  Errors
are printed where they occur, and the next command still runs.
"""
import os

import lldb


def __lldb_init_module(debugger, internal_dict):
    debugger.SetAsync(False)
    ci = debugger.GetCommandInterpreter()
    with open(os.environ['LG_LLDB_CMDS']) as f:
        for line in f:
            line = line.rstrip('\n')
            if line.startswith('@@'):
                print(line, flush=True)
                continue
            if line.startswith('@thread '):
                process = debugger.GetSelectedTarget().GetProcess()
                if not process.SetSelectedThreadByIndexID(int(line.split()[1])):
                    print('error: no thread #%s' % line.split()[1], flush=True)
                continue
            res = lldb.SBCommandReturnObject()
            ci.HandleCommand(line, res)
            print(res.GetOutput() or '', end='')
            print(res.GetError() or '', end='', flush=True)
