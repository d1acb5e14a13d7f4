/* start.S: PVH entry of the test guests: 32-bit protected mode -> long mode -> tg_start(). */

/* The loader (QEMU, tinyx-kvm) finds the 32-bit entry point in this Xen ELF note. */
#define XEN_ELFNOTE_PHYS32_ENTRY 18

#define CR0_PE   0x00000001
#define CR0_PG   0x80000000
#define CR4_PAE  0x00000020
#define MSR_EFER 0xc0000080
#define EFER_LME 0x00000100

#define SEL_CODE64 0x08
#define SEL_DATA   0x10

/* Page-table entry bits: present, writable, 2 MiB page; cache-disabled for the MMIO GiB. */
#define PTE_TABLE 0x003
#define PDE_RAM   0x083
#define PDE_MMIO  0x09b

#define STACK_BYTES 16384

    .section .note.pvh, "a", @note
    .balign 4
    .long 4                 /* namesz: "Xen\0" */
    .long 4                 /* descsz */
    .long XEN_ELFNOTE_PHYS32_ENTRY
    .asciz "Xen"
    .long tg_entry32

/* Entered with CR0.PE=1, paging off, flat 4 GiB CS/DS/SS, EBX = hvm_start_info. */
    .section .text.entry, "ax"
    .code32
    .globl tg_entry32
tg_entry32:
    cli
    movl %ebx, %esi                 /* survives until tg_start's first argument */
    lgdt gdt_ptr
    movl $pml4, %eax                /* static page tables: nothing to build at boot */
    movl %eax, %cr3
    movl %cr4, %eax
    orl $CR4_PAE, %eax
    movl %eax, %cr4
    movl $MSR_EFER, %ecx
    rdmsr
    orl $EFER_LME, %eax
    wrmsr
    movl %cr0, %eax
    orl $(CR0_PG | CR0_PE), %eax
    movl %eax, %cr0
    ljmp $SEL_CODE64, $entry64

    .code64
entry64:
    movl $SEL_DATA, %eax
    movl %eax, %ds
    movl %eax, %es
    movl %eax, %ss
    xorl %eax, %eax
    movl %eax, %fs
    movl %eax, %gs
    movq $stack_top, %rsp
    xorl %ebp, %ebp
    movl %esi, %edi                 /* struct tg_hvm_start_info * */
    call tg_start
1:  cli
    hlt
    jmp 1b

/* Interrupt and exception stubs: push a uniform frame (see struct tg_trap_frame) and call
 * tg_trap(frame). Vectors with a CPU error code skip the dummy push. */
    .text
.macro ISR vec, has_error
    .balign 16
isr_\vec:
    .if \has_error == 0
    pushq $0
    .endif
    pushq $\vec
    jmp isr_common
.endm

isr_common:
    pushq %rax
    pushq %rcx
    pushq %rdx
    pushq %rbx
    pushq %rbp
    pushq %rsi
    pushq %rdi
    pushq %r8
    pushq %r9
    pushq %r10
    pushq %r11
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    movq %rsp, %rdi
    cld
    call tg_trap
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %r11
    popq %r10
    popq %r9
    popq %r8
    popq %rdi
    popq %rsi
    popq %rbp
    popq %rbx
    popq %rdx
    popq %rcx
    popq %rax
    addq $16, %rsp                  /* vector and error code */
    iretq

/* Exceptions 0-31 (8, 10-14, 17, 21, 29, 30 push an error code), device IRQs 32-39, spurious 255. */
    ISR 0, 0
    ISR 1, 0
    ISR 2, 0
    ISR 3, 0
    ISR 4, 0
    ISR 5, 0
    ISR 6, 0
    ISR 7, 0
    ISR 8, 1
    ISR 9, 0
    ISR 10, 1
    ISR 11, 1
    ISR 12, 1
    ISR 13, 1
    ISR 14, 1
    ISR 15, 0
    ISR 16, 0
    ISR 17, 1
    ISR 18, 0
    ISR 19, 0
    ISR 20, 0
    ISR 21, 1
    ISR 22, 0
    ISR 23, 0
    ISR 24, 0
    ISR 25, 0
    ISR 26, 0
    ISR 27, 0
    ISR 28, 0
    ISR 29, 1
    ISR 30, 1
    ISR 31, 0
    ISR 32, 0
    ISR 33, 0
    ISR 34, 0
    ISR 35, 0
    ISR 36, 0
    ISR 37, 0
    ISR 38, 0
    ISR 39, 0
    ISR 255, 0

/* The stubs' addresses, indexed by vector (0-39), then the spurious one (read by irq.c). */
    .section .rodata
    .balign 8
    .globl tg_isr_stubs
tg_isr_stubs:
    .irp v, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31,32,33,34,35,36,37,38,39
    .quad isr_\v
    .endr
    .globl tg_isr_spurious
tg_isr_spurious:
    .quad isr_255

    .balign 8
gdt:
    .quad 0                         /* null */
    .quad 0x00af9a000000ffff        /* SEL_CODE64: 64-bit code, DPL 0 */
    .quad 0x00cf92000000ffff        /* SEL_DATA: flat data */
gdt_end:
    .balign 4
    .word 0
gdt_ptr:
    .word gdt_end - gdt - 1
    .long gdt

/* Identity map with 2 MiB pages, built at link time: 0-1 GiB RAM (write-back), 3-4 GiB the
 * device windows, IOAPIC and LAPIC (uncached). 1-3 GiB stays unmapped: a stray access faults. */
    .section .data.pagetables, "aw"
    .balign 4096
pml4:
    .quad pdpt + PTE_TABLE
    .fill 511, 8, 0
pdpt:
    .quad pd_low + PTE_TABLE
    .quad 0
    .quad 0
    .quad pd_mmio + PTE_TABLE
    .fill 508, 8, 0
pd_low:
    .set page, 0
    .rept 512
    .quad (page << 21) + PDE_RAM
    .set page, page + 1
    .endr
pd_mmio:
    .set page, 3 * 512
    .rept 512
    .quad (page << 21) + PDE_MMIO
    .set page, page + 1
    .endr

    .section .bss
    .balign 16
stack_bottom:
    .skip STACK_BYTES
stack_top:

    .section .note.GNU-stack, "", @progbits
