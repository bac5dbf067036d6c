import sys

from camlib.cli import main

sys.exit(main())
