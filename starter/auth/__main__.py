"""`python -m starter.auth token NAME | list | hash-id | upgrade-tokens | new`: the tokens'
command line (`starter.cli_tokens`)."""

from starter.cli_tokens import main

if __name__ == "__main__":
    raise SystemExit(main())
