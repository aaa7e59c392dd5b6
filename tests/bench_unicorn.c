/* Benchmark (not a test): the same machine-code loop run on plain Unicorn (memory mapped
 * with uc_mem_map, no hooks: the "Unicorn without vmemu's MMU" baseline) and on vmemu's
 * CPU layer (virtual-TLB mode, every miss through vmemu's page tables), timed in one run.
 * The loop adds to each qword of a 1 MiB array, ROUNDS times (default 200). Prints both
 * times and their ratio. It is the only file besides src/cpu/cpu.c that includes Unicorn, for
 * the baseline alone. Run by tests/bench.py. */
#include <stdio.h>
#include <stdlib.h>
#include <unicorn/unicorn.h>

#include "vmemu/cpu.h"
#include "vmemu/uaccess.h"
#include "vmemu/util.h"

#define CODE  0x400000ULL
#define DATA  0x10000000ULL
#define BYTES (1u << 20)

/* for (r = rounds; r; r--) for (i = 0; i < 131072; i++) a[i] += i;  then hlt (which ends a
 * plain Unicorn run at CPL 0, and is a #GP on vmemu's CPU, at CPL 3).
 * rdi = a, rsi = rounds. */
static const uint8_t loop[] = {
    0x31, 0xc9, 0x48, 0x8b, 0x04, 0xcf, 0x48, 0x01, 0xc8, 0x48, 0x89, 0x04, 0xcf, 0x48, 0xff, 0xc1,
    0x48, 0x81, 0xf9, 0x00, 0x00, 0x02, 0x00, 0x72, 0xe9, 0x48, 0xff, 0xce, 0x75, 0xe2, 0xf4,
};

static double run_plain(uint64_t rounds)
{
    uc_engine *uc;
    uint64_t rdi = DATA, rsi = rounds;
    if (uc_open(UC_ARCH_X86, UC_MODE_64, &uc) != UC_ERR_OK)
        return -1;
    uc_ctl_set_cpu_model(uc, UC_CPU_X86_HASWELL);
    uc_mem_map(uc, CODE, PAGE_SIZE, UC_PROT_ALL);
    uc_mem_map(uc, DATA, BYTES, UC_PROT_READ | UC_PROT_WRITE);
    uc_mem_write(uc, CODE, loop, sizeof(loop));
    uc_reg_write(uc, UC_X86_REG_RDI, &rdi);
    uc_reg_write(uc, UC_X86_REG_RSI, &rsi);
    uint64_t t0 = now_ns();
    uc_err err = uc_emu_start(uc, CODE, 0, 0, 0);
    uint64_t t1 = now_ns();
    uc_close(uc);
    return err == UC_ERR_OK ? (double)(t1 - t0) / 1e6 : -1;
}

static double run_vmemu(uint64_t rounds)
{
    static struct vmsys sys;
    struct cpu *cpu;
    struct mm *mm;
    struct cpu_exit ex;
    if (vmsys_init(&sys, 64 << 20, 64, 4) < 0 || cpu_create(&sys, &cpu) < 0 ||
        mm_create(&sys, &mm) < 0)
        return -1;
    mm_map(mm, CODE, PAGE_SIZE, VM_READ | VM_WRITE | VM_EXEC, 0, VMA_ANON, NULL, 0, 0);
    mm_map(mm, DATA, BYTES, VM_READ | VM_WRITE, 0, VMA_ANON, NULL, 0, 0);
    copy_to_user(mm, CODE, loop, sizeof(loop));
    sys.current = mm;
    cpu_reset_regs(cpu, CODE, DATA);
    cpu_set(cpu, CPU_RDI, DATA);
    cpu_set(cpu, CPU_RSI, rounds);
    uint64_t t0 = now_ns();
    int rc = cpu_run(cpu, &ex);
    uint64_t t1 = now_ns();
    mm_destroy(mm);
    cpu_destroy(cpu);
    vmsys_destroy(&sys);
    return rc == 0 && ex.kind == CPU_EXIT_EXCEPTION && ex.intno == 13 ? (double)(t1 - t0) / 1e6
                                                                      : -1;
}

int main(int argc, char **argv)
{
    uint64_t rounds = argc > 1 ? strtoull(argv[1], NULL, 10) : 200;
    double plain = run_plain(rounds), vm = run_vmemu(rounds);
    if (plain <= 0 || vm <= 0) {
        fprintf(stderr, "bench_unicorn: a run failed\n");
        return 1;
    }
    printf("plain-unicorn %.1f ms, vmemu %.1f ms, ratio %.2f\n", plain, vm, vm / plain);
    return 0;
}
