/* The built-in ROM image (rom/, packed), embedded read-only. */
    .section .rodata, "a"
    .balign 64
    .globl mon_rom_image, mon_rom_image_end
mon_rom_image:
    .incbin MON_ROM_PATH
mon_rom_image_end:
    .section .note.GNU-stack, "", @progbits
