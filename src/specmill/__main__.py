from specmill.cli.main import run

run()
