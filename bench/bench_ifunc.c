/* libbench_ifunc.so: ifunc_add1 is a GNU IFUNC, resolved at load time. */
static long add1_generic(long a, long b) { return a + b + 1; }

__attribute__((used)) static long (*resolve_add1(void))(long, long) { return add1_generic; }

long ifunc_add1(long a, long b) __attribute__((ifunc("resolve_add1")));
