/* openmp: OpenMP with a static libgomp: a parallel-for reduction, a critical section,
 * an atomic, sections and a barrier, on 4 threads (omp_set_num_threads, since vmemu
 * reports one CPU). Prints results that do not depend on the schedule; exits 0 when
 * every check held. */
#include <omp.h>
#include <stdio.h>

int main(void)
{
    long sum = 0, crit = 0, atom = 0;
    int sections = 0, threads = 0, bad = 0;

    omp_set_num_threads(4);
#pragma omp parallel for reduction(+ : sum)
    for (long i = 1; i <= 1000000; i++)
        sum += i % 7;
#pragma omp parallel
    {
#pragma omp single
        threads = omp_get_num_threads();
#pragma omp critical
        crit += omp_get_thread_num() + 1;
#pragma omp atomic
        atom += 10;
#pragma omp barrier
#pragma omp sections
        {
#pragma omp section
            {
#pragma omp atomic
                sections += 1;
            }
#pragma omp section
            {
#pragma omp atomic
                sections += 2;
            }
        }
    }
    printf("reduction %ld, threads %d, critical %ld, atomic %ld, sections %d\n", sum, threads,
           crit, atom, sections);
    bad = sum != 2999998 || threads != 4 || crit != 10 || atom != 40 || sections != 3;
    return bad;
}
