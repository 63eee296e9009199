import sys

from armful.cli.main import main

sys.exit(main())
