from surfaces.resolver.main import main

main()
