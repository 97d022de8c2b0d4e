# Loaded into prove through PERL5OPT by scripts/test.sh: prove's output then reaches the
# progress filter line by line as each test ends, instead of in 8 kB chunks from a pipe.
package JKAutoflush;
use strict;
use warnings;
use IO::Handle;
STDOUT->autoflush(1);
STDERR->autoflush(1);
1;
