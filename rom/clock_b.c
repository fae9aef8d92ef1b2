/*
 * ROM B's clock entry: A's reader (clock.c) compiled again under B's own
 * name, so that B's entry is code of its own (a call entry may branch only
 * within itself or to an entry its table declares, and B's table no longer
 * declares A's).  The same clock page layout, so the same time line.
 */
#define rom_clock_read rom_b_clock_read
#include "clock.c"
