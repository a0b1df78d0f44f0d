// faiss_shim.h: a small C API over faiss 1.7.3's C++ API (Debian ships
// no compiled faiss C API). Every function that can fail returns 0 on success
// or an FS_ERR_* code, and on failure stores a malloc'd message in *err that
// the caller must free().
#ifndef FACESEARCH_FAISS_SHIM_H
#define FACESEARCH_FAISS_SHIM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum {
	FS_OK = 0,
	FS_ERR = 1,           /* a faiss or C++ exception; see *err */
	FS_ERR_NOT_FOUND = 2, /* an id that is not in the index */
};

typedef struct fs_index fs_index;

int fs_new(int dim, const char* factory, int metric, fs_index** out, char** err);
int fs_read(const char* path, fs_index** out, char** err);
int fs_write(const fs_index* x, const char* path, char** err);
void fs_free(fs_index* x);

int fs_dim(const fs_index* x);
int64_t fs_ntotal(const fs_index* x);
int fs_is_trained(const fs_index* x);

int fs_train(fs_index* x, int64_t n, const float* v, char** err);
int fs_add(fs_index* x, int64_t n, const float* v, const int64_t* ids, char** err);
int fs_remove(fs_index* x, int64_t n, const int64_t* ids, int64_t* removed, char** err);

/* nprobe/efsearch <= 0 mean "the index's own setting". */
int fs_search(const fs_index* x, int64_t n, const float* q, int64_t k,
              int nprobe, int efsearch, float* scores, int64_t* ids, char** err);

/* On success *lims (n+1 entries), *scores and *ids (lims[n] entries each) are
 * malloc'd and owned by the caller. */
int fs_range_search(const fs_index* x, int64_t n, const float* q, float radius,
                    int nprobe, int efsearch, int64_t** lims, float** scores,
                    int64_t** ids, char** err);

int fs_reconstruct(const fs_index* x, int64_t id, float* out, char** err);

/* Exact k-NN of n queries q among nb vectors base (both row-major, dimension
 * dim), without an index: faiss::knn_inner_product (metric 0) or knn_L2sqr
 * (metric 1). Row i of the results (scores/rows, n*k entries each) holds
 * query i's hits, best first, as row positions in base; missing hits (k > nb)
 * have row -1. base may be NULL when nb is 0. */
int fs_knn(int64_t n, const float* q, int64_t nb, const float* base, int dim, int64_t k,
           int metric, float* scores, int64_t* rows, char** err);

/* Exact range search of n queries q among nb vectors base (both row-major,
 * dimension dim), without an index: faiss::range_search_inner_product (metric
 * 0, scores > radius) or range_search_L2sqr (metric 1, distances < radius).
 * Ids are row positions in base. On success *lims (n+1 entries), *scores and
 * *ids (lims[n] entries each) are malloc'd and owned by the caller. base may
 * be NULL when nb is 0. */
int fs_range_raw(int64_t n, const float* q, int64_t nb, const float* base, int dim,
                 float radius, int metric, int64_t** lims, float** scores, int64_t** ids,
                 char** err);

/* Process-wide settings. */
char* fs_compile_options(void); /* malloc'd */
void fs_set_threads(int n);
const char* fs_blas_corename(void); /* static string, do not free */
void fs_set_blas_threshold(int n);
int fs_blas_threshold(void);

#ifdef __cplusplus
}
#endif

#endif
