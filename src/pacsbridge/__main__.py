from pacsbridge.cli import main

main()
