from specmill.cli.quick import run

run()
