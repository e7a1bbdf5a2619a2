from registry.cli import main

main(prog_name="registry")
