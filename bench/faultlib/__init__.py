"""The fault-injection harness behind `make faults` (bench/faults.py).

stack.py starts and breaks the processes, client.py drives the app over HTTP like a user,
checks.py reads the harness's own database for what was lost or duplicated, cases.py holds
one function per fault case (CASES, in the order they run).
"""
