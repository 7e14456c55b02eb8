from alphamine.cli.main import main

main()
