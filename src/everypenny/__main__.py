from everypenny.entrypoints.cli import app

app(prog_name="everypenny")
