#!/usr/bin/perl
# html_decode.pl PAGE.html RUN.json: decodes the weights embedded in an explorer page the way
# lib/fig/html_app.js does (base64, 8-bit, w = (q/255)^2, lower triangle for causal models)
# and compares every one with the exact JSON of the same run. Prints a summary, exits 1 on a
# mismatch beyond the quantisation step.
use strict;
use warnings;
use JSON::PP;
use MIME::Base64;

my ($page, $json) = @ARGV;
local $/;
open(my $h, '<:raw', $page) or die "$page: $!";
my $html = <$h>;
open(my $j, '<:raw', $json) or die "$json: $!";
my $ref = decode_json(<$j>);
my ($info) = $html =~ m{<script type="application/json" class="mhv-info">(.*?)</script>}s
    or die "no info block\n";
$info = decode_json($info);
my @sent = map { decode_json($_) }
    $html =~ m{<script type="application/json" class="mhv-sentence">(.*?)</script>}sg;
my $rs = $ref->{sentences};
die "sentences: page " . @sent . ", json " . @$rs . "\n" unless @sent == @$rs;
my ($n_cmp, $worst) = (0, 0);
for my $s (0 .. $#sent) {
    my $S = $sent[$s];
    my $R = $rs->[$s];
    die "sentence $s: text differs\n" unless $S->{text} eq $R->{text};
    my $n = $S->{n};
    die "sentence $s: $n tokens, json " . @{$R->{tokens}} . "\n" unless $n == @{$R->{tokens}};
    my %want = map { ("$_->{layer}:" . ($_->{head} // -1)) => $_->{weights} } @{$R->{attentions}};
    my @mats = map { [$_->[0], $_->[1], $_->[2]] } @{$S->{heads}};
    push @mats, map { [$_->[0], -1, $_->[1]] } @{$S->{views} // []};
    for my $m (@mats) {
        my ($l, $hd, $b64) = @$m;
        my $w = $want{"$l:$hd"};
        # a run with --aggregate writes only the views to JSON
        next unless $w;
        my @q = unpack('C*', decode_base64($b64));
        my $expect = $info->{causal} ? $n * ($n + 1) / 2 : $n * $n;
        die "L$l H$hd: " . @q . " bytes, expected $expect\n" unless @q == $expect;
        my $k = 0;
        for my $i (0 .. $n - 1) {
            for my $c (0 .. ($info->{causal} ? $i : $n - 1)) {
                my $v = ($q[$k] / 255) ** 2;
                $k++;
                my $x = $w->[$i][$c];
                # half a quantisation step at x, plus float noise
                my $tol = sqrt($x) / 255 + 5e-6;
                my $e = abs($v - $x);
                $worst = $e if $e > $worst;
                die sprintf("L%d H%d [%d][%d]: page %.6f, json %.6f\n", $l, $hd, $i, $c, $v, $x)
                    if $e > $tol;
                $n_cmp++;
            }
        }
    }
}
die "nothing compared\n" unless $n_cmp;
printf "%d weights within the 8-bit step, worst %.5f\n", $n_cmp, $worst;
