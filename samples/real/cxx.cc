// cxx: a driver of ours over Debian's libstdc++ (libstdc++.a, linked statically by g++), for
// tests/realprogs.py: what C++ programs do at start-up (iostream and locale set-up through
// pthread_once, which ends in a futex wake) and in their work (containers, strings,
// streams, regex, exceptions unwinding through frames, virtual calls).
// Usage: cxx words FILE    word and field statistics of "word number word" lines
//        cxx numbers FILE  sorting, a multiset's quantiles and a running checksum
//        cxx throw N       N exceptions thrown through 3 frames, caught by type
//        cxx regex FILE    the lines of FILE that match a pattern, and its groups
#include <algorithm>
#include <cstdint>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <map>
#include <memory>
#include <numeric>
#include <regex>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

namespace {

std::vector<std::string> read_lines(const char *path)
{
    std::ifstream in(path);
    if (!in)
        throw std::runtime_error(std::string("cannot open ") + path);
    std::vector<std::string> lines;
    std::string line;
    while (std::getline(in, line))
        lines.push_back(line);
    return lines;
}

int words(const char *path)
{
    std::map<std::string, long> count;
    std::unordered_map<std::string, long> sum;
    long total = 0;
    for (const auto &line : read_lines(path)) {
        std::istringstream ls(line);
        std::string a, b;
        long n;
        if (!(ls >> a >> n >> b))
            continue;
        count[a]++;
        sum[b] += n;
        total += n;
    }
    std::vector<std::pair<long, std::string>> by_sum;
    for (const auto &kv : sum)
        by_sum.emplace_back(kv.second, kv.first);
    std::sort(by_sum.rbegin(), by_sum.rend());
    std::cout << count.size() << " first words, total " << total << "\n";
    for (const auto &kv : count)
        std::cout << std::setw(10) << std::left << kv.first << std::right << std::setw(7)
                  << kv.second << "\n";
    for (size_t i = 0; i < 5 && i < by_sum.size(); i++)
        std::cout << by_sum[i].second << " " << std::fixed << std::setprecision(2)
                  << by_sum[i].first / 1000.0 << "k\n";
    return 0;
}

int numbers(const char *path)
{
    std::vector<long> v;
    for (const auto &line : read_lines(path))
        v.push_back(std::stol(line));
    std::multiset<long> ms(v.begin(), v.end());
    std::sort(v.begin(), v.end());
    uint64_t h = 1469598103934665603ULL;
    for (long x : v)
        h = (h ^ static_cast<uint64_t>(x)) * 1099511628211ULL;
    auto at = [&](double q) { return *std::next(ms.begin(), static_cast<long>(q * (ms.size() - 1))); };
    std::cout << v.size() << " numbers, min " << v.front() << " max " << v.back() << "\n";
    std::cout << "quartiles " << at(0.25) << " " << at(0.5) << " " << at(0.75) << "\n";
    std::cout << "sum " << std::accumulate(v.begin(), v.end(), 0L) << " hash " << std::hex << h
              << std::dec << "\n";
    return 0;
}

struct Shape {
    virtual ~Shape() = default;
    virtual long area() const = 0;
};
struct Rect : Shape {
    long w, h;
    Rect(long w_, long h_) : w(w_), h(h_) {}
    long area() const override { return w * h; }
};
struct Square : Rect {
    explicit Square(long s) : Rect(s, s) {}
    long area() const override
    {
        if (w % 7 == 0)
            throw std::domain_error("square of " + std::to_string(w));
        return Rect::area();
    }
};

long level3(const Shape &s, long i)
{
    if (i % 5 == 0)
        throw std::out_of_range("index " + std::to_string(i));
    return s.area();
}
long level2(const Shape &s, long i)
{
    std::vector<int> guard(8, 1); // destroyed while unwinding
    return level3(s, i) + guard[0];
}
long level1(long i)
{
    std::unique_ptr<Shape> s(i % 2 ? static_cast<Shape *>(new Square(i)) : new Rect(i, 2));
    return level2(*s, i);
}

int throws(long n)
{
    long sum = 0, range = 0, domain = 0;
    for (long i = 1; i <= n; i++) {
        try {
            sum += level1(i);
        } catch (const std::out_of_range &) {
            range++;
        } catch (const std::logic_error &e) {
            domain++;
            if (domain == 1)
                std::cout << "first logic_error: " << e.what() << "\n";
        }
    }
    std::cout << "sum " << sum << ", out_of_range " << range << ", domain_error " << domain
              << "\n";
    return 0;
}

int regex(const char *path)
{
    std::regex re("^(fault|frame) ([0-9]+)7 (\\w+)$");
    long matched = 0;
    std::map<std::string, long> third;
    for (const auto &line : read_lines(path)) {
        std::smatch m;
        if (std::regex_match(line, m, re)) {
            matched++;
            third[m[3]]++;
        }
    }
    std::cout << matched << " lines match\n";
    for (const auto &kv : third)
        std::cout << kv.first << " " << kv.second << "\n";
    return 0;
}

} // namespace

int main(int argc, char **argv)
{
    try {
        std::string mode = argc > 2 ? argv[1] : "";
        if (mode == "words")
            return words(argv[2]);
        if (mode == "numbers")
            return numbers(argv[2]);
        if (mode == "throw")
            return throws(std::stol(argv[2]));
        if (mode == "regex")
            return regex(argv[2]);
        std::cerr << "usage: cxx words|numbers|regex FILE, cxx throw N\n";
        return 2;
    } catch (const std::exception &e) {
        std::cerr << "cxx: " << e.what() << "\n";
        return 1;
    }
}
