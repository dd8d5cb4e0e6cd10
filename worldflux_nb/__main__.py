from worldflux_nb.cli import run

run()
