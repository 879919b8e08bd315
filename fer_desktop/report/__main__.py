import sys

from fer_desktop.report.cli import main

sys.exit(main())
