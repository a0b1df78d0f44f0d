// faiss_shim.cpp: extern "C" wrappers over the faiss 1.7.3 C++ API.
// See faiss_shim.h and docs/FAISS.md. No C++ exception crosses this boundary.

#include "faiss_shim.h"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <limits>
#include <memory>
#include <mutex>
#include <new>
#include <shared_mutex>
#include <string>
#include <vector>

#include <omp.h>

#include <faiss/IVFlib.h>
#include <faiss/Index.h>
#include <faiss/IndexHNSW.h>
#include <faiss/IndexIDMap.h>
#include <faiss/IndexIVF.h>
#include <faiss/IndexPreTransform.h>
#include <faiss/impl/AuxIndexStructures.h>
#include <faiss/impl/IDSelector.h>
#include <faiss/index_factory.h>
#include <faiss/index_io.h>
#include <faiss/utils/distances.h>
#include <faiss/utils/utils.h>

extern "C" {
char* openblas_get_corename(void);
void openblas_set_num_threads(int);
}

struct fs_index {
	std::unique_ptr<faiss::Index> idx;
	// Guards HNSW::efSearch (see run); writers of the index itself
	// are serialised by the Go side's RWMutex.
	mutable std::shared_mutex ef_mu;
};

namespace {

using idx_t = faiss::Index::idx_t;

// Route exhaustive searches of any number of queries through BLAS sgemm
// (faiss's default threshold of 20 sends small batches, and so every single
// query, through a scalar loop that the Debian GENERIC build does not
// vectorise: 23 ms against 7.8 ms for 57,637 x 512).
const int kDefaultBLASThreshold = [] {
	faiss::distance_compute_blas_threshold = 1;
	return 1;
}();

// Desired OpenMP thread count (0 = leave alone). omp_set_num_threads only
// affects the calling OS thread, and Go calls C from many OS threads, so every
// entry point applies the setting to its own thread.
std::atomic<int> g_threads{0};

void apply_threads() {
	int n = g_threads.load(std::memory_order_relaxed);
	if (n > 0 && omp_get_max_threads() != n) {
		omp_set_num_threads(n);
	}
}

char* dup_message(const char* s) {
	size_t len = std::strlen(s);
	char* out = static_cast<char*>(std::malloc(len + 1));
	if (out != nullptr) {
		std::memcpy(out, s, len + 1);
	}
	return out;
}

template <typename F>
int guarded(char** err, F&& f) {
	*err = nullptr;
	try {
		return f();
	} catch (const std::bad_alloc&) {
		*err = dup_message("out of memory");
	} catch (const std::exception& e) {
		*err = dup_message(e.what());
	} catch (...) {
		*err = dup_message("unknown C++ exception");
	}
	return FS_ERR;
}

// The searchable core of an index: an IDMap's sub-index (ids mapped back
// afterwards) and, when search parameters apply, the IVF or HNSW index under a
// pre-transform (queries transformed here). faiss 1.7.3's IndexIDMap and
// IndexPreTransform reject or drop SearchParameters, so they are peeled off.
struct Target {
	const faiss::Index* idx = nullptr;
	const std::vector<idx_t>* id_map = nullptr;
	const float* q = nullptr;
	std::unique_ptr<const float[]> owned_q;
	std::unique_ptr<faiss::SearchParameters> params;
	// Set when the search must run with this efSearch on this HNSW index.
	faiss::IndexHNSW* hnsw = nullptr;
	int efsearch = 0;
};

bool takes_params(const faiss::Index* idx) {
	return dynamic_cast<const faiss::IndexIVF*>(idx) != nullptr ||
	       dynamic_cast<const faiss::IndexHNSW*>(idx) != nullptr;
}

void resolve(const fs_index* x, int64_t n, const float* q, int nprobe, int efsearch, Target* t) {
	t->idx = x->idx.get();
	t->q = q;
	if (auto m = dynamic_cast<const faiss::IndexIDMap*>(t->idx)) {
		t->id_map = &m->id_map;
		t->idx = m->index;
	}
	if (nprobe <= 0 && efsearch <= 0) {
		return;
	}
	if (auto pt = dynamic_cast<const faiss::IndexPreTransform*>(t->idx)) {
		if (takes_params(pt->index)) {
			const float* tq = pt->apply_chain(n, q);
			if (tq != q) {
				t->owned_q.reset(tq);
			}
			t->q = tq;
			t->idx = pt->index;
		}
	}
	if (auto ivf = dynamic_cast<const faiss::IndexIVF*>(t->idx)) {
		if (nprobe > 0) {
			auto p = new faiss::SearchParametersIVF();
			p->nprobe = static_cast<size_t>(nprobe);
			p->max_codes = ivf->max_codes;
			t->params.reset(p);
		}
	} else if (auto h = dynamic_cast<const faiss::IndexHNSW*>(t->idx)) {
		if (efsearch > 0) {
			t->hnsw = const_cast<faiss::IndexHNSW*>(h);
			t->efsearch = efsearch;
		}
	}
}

// run calls f with the target's efSearch in force. faiss 1.7.3's
// HNSW::search sizes its candidate queue from the index's own efSearch and
// uses SearchParametersHNSW::efSearch only as a stopping rule, so a larger
// per-call efSearch has no effect. Instead the value is swapped in for the
// duration of the call under an exclusive lock (and restored even on error),
// while searches that use the index's own efSearch share the lock: no caller
// ever sees the other's setting.
template <typename F>
void run(const fs_index* x, Target& t, F&& f) {
	{
		std::shared_lock<std::shared_mutex> lock(x->ef_mu);
		// efSearch only changes under the exclusive lock, so this read is stable.
		if (t.hnsw == nullptr || t.hnsw->hnsw.efSearch == t.efsearch) {
			f();
			return;
		}
	}
	std::unique_lock<std::shared_mutex> lock(x->ef_mu);
	struct Restore {
		int* field;
		int saved;
		~Restore() { *field = saved; }
	} restore{&t.hnsw->hnsw.efSearch, t.hnsw->hnsw.efSearch};
	t.hnsw->hnsw.efSearch = t.efsearch;
	f();
}

void map_ids(const std::vector<idx_t>* id_map, size_t n, int64_t* ids) {
	if (id_map == nullptr) {
		return;
	}
	const size_t size = id_map->size();
	for (size_t i = 0; i < n; i++) {
		if (ids[i] >= 0) {
			ids[i] = static_cast<size_t>(ids[i]) < size ? (*id_map)[ids[i]] : -1;
		}
	}
}

// The IVF index that stores ids itself (no IDMap above it), if any.
faiss::IndexIVF* native_ivf(faiss::Index* idx) {
	if (dynamic_cast<faiss::IndexIDMap*>(idx) != nullptr) {
		return nullptr;
	}
	return faiss::ivflib::try_extract_index_ivf(idx);
}

// SerialForSmallBatches runs faiss's per-query OpenMP loops on the calling
// thread alone for batches smaller than the thread count. A single query gains
// nothing from them (faiss parallelises across queries), yet the BLAS path
// opens an OpenMP region per 1,024-vector block, and each one waits for the
// other threads to be scheduled: on a loaded machine that costs far more than
// the search. The setting is per OS thread, so other callers are unaffected.
struct SerialForSmallBatches {
	int saved = 0;
	explicit SerialForSmallBatches(int64_t n) {
		int threads = omp_get_max_threads();
		if (threads > 1 && n < threads) {
			saved = threads;
			omp_set_num_threads(1);
		}
	}
	~SerialForSmallBatches() {
		if (saved > 0) {
			omp_set_num_threads(saved);
		}
	}
};

// copy_range copies a range search result of n queries into malloc'd arrays
// that the caller (Go) frees: n+1 limits and lims[n] scores and ids.
void copy_range(const faiss::RangeSearchResult& res, int64_t n, int64_t** lims, float** scores,
                int64_t** ids) {
	const size_t total = res.lims[n];
	int64_t* l = static_cast<int64_t*>(std::malloc(sizeof(int64_t) * (n + 1)));
	float* s = static_cast<float*>(std::malloc(sizeof(float) * (total + 1)));
	int64_t* i = static_cast<int64_t*>(std::malloc(sizeof(int64_t) * (total + 1)));
	if (l == nullptr || s == nullptr || i == nullptr) {
		std::free(l);
		std::free(s);
		std::free(i);
		throw std::bad_alloc();
	}
	for (int64_t j = 0; j <= n; j++) {
		l[j] = static_cast<int64_t>(res.lims[j]);
	}
	if (total > 0) {
		std::memcpy(s, res.distances, sizeof(float) * total);
		std::memcpy(i, res.labels, sizeof(int64_t) * total);
	}
	*lims = l;
	*scores = s;
	*ids = i;
}

} // namespace

extern "C" {

int fs_new(int dim, const char* factory, int metric, fs_index** out, char** err) {
	*out = nullptr;
	return guarded(err, [&] {
		faiss::MetricType mt;
		switch (metric) {
		case 0:
			mt = faiss::METRIC_INNER_PRODUCT;
			break;
		case 1:
			mt = faiss::METRIC_L2;
			break;
		default:
			throw std::invalid_argument("unknown metric " + std::to_string(metric));
		}
		std::unique_ptr<faiss::Index> base(faiss::index_factory(dim, factory, mt));
		std::unique_ptr<fs_index> x(new fs_index);
		if (dynamic_cast<faiss::IndexIDMap*>(base.get()) != nullptr) {
			x->idx = std::move(base); // the factory string asked for an IDMap
		} else if (faiss::IndexIVF* ivf = faiss::ivflib::try_extract_index_ivf(base.get())) {
			// IVF indexes store arbitrary ids themselves; an IDMap above them
			// would break on removal (IVF does not renumber its entries). A
			// hashtable direct map makes removal and reconstruction by id work.
			ivf->set_direct_map_type(faiss::DirectMap::Hashtable);
			x->idx = std::move(base);
		} else {
			auto m = new faiss::IndexIDMap2(base.get());
			m->own_fields = true;
			base.release();
			x->idx.reset(m);
		}
		*out = x.release();
		return FS_OK;
	});
}

int fs_read(const char* path, fs_index** out, char** err) {
	*out = nullptr;
	return guarded(err, [&] {
		std::unique_ptr<fs_index> x(new fs_index);
		x->idx.reset(faiss::read_index(path));
		*out = x.release();
		return FS_OK;
	});
}

int fs_write(const fs_index* x, const char* path, char** err) {
	return guarded(err, [&] {
		std::shared_lock<std::shared_mutex> lock(x->ef_mu);
		faiss::write_index(x->idx.get(), path);
		return FS_OK;
	});
}

void fs_free(fs_index* x) {
	try {
		delete x;
	} catch (...) {
	}
}

int fs_dim(const fs_index* x) {
	return x->idx->d;
}

int64_t fs_ntotal(const fs_index* x) {
	return x->idx->ntotal;
}

int fs_is_trained(const fs_index* x) {
	return x->idx->is_trained ? 1 : 0;
}

int fs_train(fs_index* x, int64_t n, const float* v, char** err) {
	return guarded(err, [&] {
		apply_threads();
		x->idx->train(n, v);
		return FS_OK;
	});
}

int fs_add(fs_index* x, int64_t n, const float* v, const int64_t* ids, char** err) {
	return guarded(err, [&] {
		apply_threads();
		x->idx->add_with_ids(n, v, ids);
		return FS_OK;
	});
}

int fs_remove(fs_index* x, int64_t n, const int64_t* ids, int64_t* removed, char** err) {
	*removed = 0;
	return guarded(err, [&] {
		std::vector<idx_t> uniq(ids, ids + n);
		std::sort(uniq.begin(), uniq.end());
		uniq.erase(std::unique(uniq.begin(), uniq.end()), uniq.end());
		if (auto m = dynamic_cast<faiss::IndexIDMap*>(x->idx.get())) {
			if (faiss::ivflib::try_extract_index_ivf(m->index) != nullptr) {
				// IndexIDMap::remove_ids assumes the sub-index renumbers its
				// entries like IndexFlat; IVF does not, and every id would be
				// wrong afterwards.
				throw std::runtime_error(
				        "cannot remove from an IDMap over an IVF index (faiss would mismatch ids); "
				        "build the IVF index without IDMap: it stores ids itself");
			}
		}
		faiss::IndexIVF* ivf = native_ivf(x->idx.get());
		size_t r;
		if (ivf != nullptr && ivf->direct_map.type == faiss::DirectMap::Hashtable) {
			// The hashtable direct map only accepts an IDSelectorArray.
			faiss::IDSelectorArray sel(uniq.size(), uniq.data());
			r = x->idx->remove_ids(sel);
		} else {
			faiss::IDSelectorBatch sel(uniq.size(), uniq.data());
			r = x->idx->remove_ids(sel);
		}
		*removed = static_cast<int64_t>(r);
		return FS_OK;
	});
}

int fs_search(const fs_index* x, int64_t n, const float* q, int64_t k, int nprobe, int efsearch,
              float* scores, int64_t* ids, char** err) {
	return guarded(err, [&] {
		apply_threads();
		SerialForSmallBatches serial(n);
		Target t;
		resolve(x, n, q, nprobe, efsearch, &t);
		run(x, t, [&] { t.idx->search(n, t.q, k, scores, ids, t.params.get()); });
		map_ids(t.id_map, static_cast<size_t>(n * k), ids);
		return FS_OK;
	});
}

int fs_range_search(const fs_index* x, int64_t n, const float* q, float radius, int nprobe,
                    int efsearch, int64_t** lims, float** scores, int64_t** ids, char** err) {
	*lims = nullptr;
	*scores = nullptr;
	*ids = nullptr;
	return guarded(err, [&] {
		apply_threads();
		SerialForSmallBatches serial(n);
		Target t;
		resolve(x, n, q, nprobe, efsearch, &t);
		faiss::RangeSearchResult res(n);
		run(x, t, [&] { t.idx->range_search(n, t.q, radius, &res, t.params.get()); });
		map_ids(t.id_map, res.lims[n], res.labels);
		copy_range(res, n, lims, scores, ids);
		return FS_OK;
	});
}

int fs_range_raw(int64_t n, const float* q, int64_t nb, const float* base, int dim,
                 float radius, int metric, int64_t** lims, float** scores, int64_t** ids,
                 char** err) {
	*lims = nullptr;
	*scores = nullptr;
	*ids = nullptr;
	return guarded(err, [&] {
		if (n < 0 || nb < 0 || dim <= 0) {
			throw std::invalid_argument("range search: bad sizes");
		}
		if (metric != 0 && metric != 1) {
			throw std::invalid_argument("unknown metric " + std::to_string(metric));
		}
		faiss::RangeSearchResult res(n);
		if (nb > 0 && n > 0) {
			apply_threads();
			SerialForSmallBatches serial(n);
			if (metric == 0) {
				faiss::range_search_inner_product(q, base, size_t(dim), size_t(n), size_t(nb), radius, &res);
			} else {
				faiss::range_search_L2sqr(q, base, size_t(dim), size_t(n), size_t(nb), radius, &res);
			}
		}
		// RangeSearchResult's constructor zeroes lims, so an empty search
		// reports no hits.
		copy_range(res, n, lims, scores, ids);
		return FS_OK;
	});
}

int fs_reconstruct(const fs_index* x, int64_t id, float* out, char** err) {
	return guarded(err, [&] {
		const faiss::Index* idx = x->idx.get();
		if (auto m2 = dynamic_cast<const faiss::IndexIDMap2*>(idx)) {
			if (m2->rev_map.count(id) == 0) {
				return int(FS_ERR_NOT_FOUND);
			}
		} else if (dynamic_cast<const faiss::IndexIDMap*>(idx) != nullptr) {
			throw std::runtime_error("reconstruct needs an IndexIDMap2, this index is an IndexIDMap");
		} else if (const faiss::IndexIVF* ivf = faiss::ivflib::try_extract_index_ivf(idx)) {
			if (ivf->direct_map.type == faiss::DirectMap::Hashtable &&
			    ivf->direct_map.hashtable.count(id) == 0) {
				return int(FS_ERR_NOT_FOUND);
			}
			if (ivf->direct_map.type == faiss::DirectMap::NoMap) {
				throw std::runtime_error("reconstruct needs a direct map on this IVF index");
			}
			if (ivf->direct_map.type == faiss::DirectMap::Array && (id < 0 || id >= idx->ntotal)) {
				return int(FS_ERR_NOT_FOUND);
			}
		} else if (id < 0 || id >= idx->ntotal) {
			return int(FS_ERR_NOT_FOUND);
		}
		idx->reconstruct(id, out);
		return int(FS_OK);
	});
}

int fs_knn(int64_t n, const float* q, int64_t nb, const float* base, int dim, int64_t k,
           int metric, float* scores, int64_t* rows, char** err) {
	return guarded(err, [&] {
		if (n < 0 || nb < 0 || dim <= 0 || k <= 0) {
			throw std::invalid_argument("knn: bad sizes");
		}
		if (metric != 0 && metric != 1) {
			throw std::invalid_argument("unknown metric " + std::to_string(metric));
		}
		if (nb == 0) { // faiss returns early without filling the results
			const float none = metric == 0 ? -std::numeric_limits<float>::max()
			                               : std::numeric_limits<float>::max();
			std::fill(scores, scores + n * k, none);
			std::fill(rows, rows + n * k, int64_t(-1));
			return FS_OK;
		}
		apply_threads();
		SerialForSmallBatches serial(n);
		switch (metric) {
		case 0: {
			faiss::float_minheap_array_t res = {size_t(n), size_t(k), rows, scores};
			faiss::knn_inner_product(q, base, size_t(dim), size_t(n), size_t(nb), &res);
			break;
		}
		case 1: {
			faiss::float_maxheap_array_t res = {size_t(n), size_t(k), rows, scores};
			faiss::knn_L2sqr(q, base, size_t(dim), size_t(n), size_t(nb), &res);
			break;
		}
		default:
			throw std::invalid_argument("unknown metric " + std::to_string(metric));
		}
		return FS_OK;
	});
}

char* fs_compile_options(void) {
	try {
		return dup_message(faiss::get_compile_options().c_str());
	} catch (...) {
		return dup_message("");
	}
}

void fs_set_threads(int n) {
	if (n < 0) {
		n = 0;
	}
	g_threads.store(n, std::memory_order_relaxed);
	if (n > 0) {
		omp_set_num_threads(n);
		openblas_set_num_threads(n);
	}
}

const char* fs_blas_corename(void) {
	const char* s = openblas_get_corename();
	return s != nullptr ? s : "";
}

void fs_set_blas_threshold(int n) {
	faiss::distance_compute_blas_threshold = n;
}

int fs_blas_threshold(void) {
	(void)kDefaultBLASThreshold;
	return faiss::distance_compute_blas_threshold;
}

} // extern "C"
