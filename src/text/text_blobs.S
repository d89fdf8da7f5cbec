/* SPDX-License-Identifier: MIT */
/*
 * text_blobs.S -- the shipped text models and the built-in theme taxonomy,
 * pulled into the binary with .incbin (paths are relative to the top of the
 * tree, where make runs).  Each blob has a length symbol beside it; the
 * taxonomy is followed by a NUL.
 */
        .section .rodata
        .balign 16
        .globl tp_text_blob_vi
tp_text_blob_vi:
        .incbin "models/vi.tpm"
tp_text_blob_vi_end:
        .balign 16
        .globl tp_text_blob_en
tp_text_blob_en:
        .incbin "models/en.tpm"
tp_text_blob_en_end:
        .balign 16
        .globl tp_text_blob_themes
tp_text_blob_themes:
        .incbin "src/text/text_themes.json"
tp_text_blob_themes_end:
        .byte 0
        .balign 8
        .globl tp_text_blob_vi_len
tp_text_blob_vi_len:
        .quad tp_text_blob_vi_end - tp_text_blob_vi
        .globl tp_text_blob_en_len
tp_text_blob_en_len:
        .quad tp_text_blob_en_end - tp_text_blob_en
        .globl tp_text_blob_themes_len
tp_text_blob_themes_len:
        .quad tp_text_blob_themes_end - tp_text_blob_themes
        .section .note.GNU-stack,"",@progbits
