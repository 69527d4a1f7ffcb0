"""`python -m flows.cli ...`: the `chatlikeme` command run from a checkout (tests, subprocesses)."""

from flows.cli import main

if __name__ == "__main__":
    main()
