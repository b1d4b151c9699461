/* Heartbeat target: heartbeat MIB RATE maps MIB of memory (populated), writes
 * RATE random pages per second (-1: as fast as it can, 256 a loop), and on
 * SIGUSR1 prints the largest gap between two iterations of its loop
 * ("maxgap_us N") and its writes: the pause it observed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <signal.h>
#include <sys/mman.h>
static volatile sig_atomic_t stop_;
static void h(int s){stop_=1;}
static long long ns(void){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec*1000000000LL+t.tv_nsec;}
int main(int c,char**v){size_t mb=atol(v[1]);long rate=atol(v[2]);size_t np=mb*256;
char*m=mmap(0,mb<<20,PROT_READ|PROT_WRITE,MAP_PRIVATE|MAP_ANONYMOUS|MAP_POPULATE,-1,0);
for(size_t i=0;i<np;i++)m[i*4096]=1;
signal(SIGUSR1,h);signal(SIGUSR2,h);
printf("ready\n");fflush(stdout);
long long last=ns(),start=last,maxgap=0;unsigned long long w=0,seed=88172645463325252ULL;
while(!stop_){long long t=ns();if(t-last>maxgap)maxgap=t-last;last=t;
 long long want=rate<0?(long long)w+256:(t-start)/1000*rate/1000000;
 while((long long)w<want){seed^=seed<<13;seed^=seed>>7;seed^=seed<<17;m[(seed%np)*4096+8]++;w++;}
 }
printf("maxgap_us %lld writes %llu\n",maxgap/1000,w);return 0;}
