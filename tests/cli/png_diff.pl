#!/usr/bin/perl
# png_diff.pl A.png B.png [MAX_SHARE]: compares two 8-bit RGB/RGBA PNGs pixel by pixel, with
# the tolerance figures need (antialiasing and font rasterisers differ in their edges): a
# pixel differs when a channel is off by more than 64; the images match when they have the
# same size and at most MAX_SHARE (default 0.01) of the pixels differ. Prints the share.
use strict;
use warnings;
use Compress::Zlib;

sub decode {
    my ($path) = @_;
    open(my $h, '<:raw', $path) or die "$path: $!\n";
    local $/;
    my $d = <$h>;
    die "$path: not a PNG\n" unless substr($d, 0, 8) eq "\x89PNG\r\n\x1a\n";
    my ($pos, $idat, $w, $ht, $bpp) = (8, '', 0, 0, 0);
    while ($pos < length $d) {
        my ($n, $type) = unpack('Na4', substr($d, $pos, 8));
        my $body = substr($d, $pos + 8, $n);
        if ($type eq 'IHDR') {
            my ($depth, $ct);
            ($w, $ht, $depth, $ct) = unpack('NNCC', $body);
            die "$path: depth $depth colour type $ct\n" unless $depth == 8 && ($ct == 2 || $ct == 6);
            $bpp = $ct == 2 ? 3 : 4;
        } elsif ($type eq 'IDAT') {
            $idat .= $body;
        }
        $pos += 12 + $n;
    }
    my $raw = uncompress($idat) // die "$path: bad zlib data\n";
    my $stride = $w * $bpp;
    my @prev = (0) x $stride;
    my @rows;
    for my $y (0 .. $ht - 1) {
        my $f = ord(substr($raw, $y * ($stride + 1), 1));
        my @l = unpack('C*', substr($raw, $y * ($stride + 1) + 1, $stride));
        for my $x (0 .. $stride - 1) {
            my $a = $x >= $bpp ? $l[$x - $bpp] : 0;
            my $b = $prev[$x];
            my $c = $x >= $bpp ? $prev[$x - $bpp] : 0;
            if ($f == 1) { $l[$x] = ($l[$x] + $a) & 255 }
            elsif ($f == 2) { $l[$x] = ($l[$x] + $b) & 255 }
            elsif ($f == 3) { $l[$x] = ($l[$x] + (($a + $b) >> 1)) & 255 }
            elsif ($f == 4) {
                my $p = $a + $b - $c;
                my ($pa, $pb, $pc) = (abs($p - $a), abs($p - $b), abs($p - $c));
                $l[$x] = ($l[$x] + ($pa <= $pb && $pa <= $pc ? $a : $pb <= $pc ? $b : $c)) & 255;
            }
        }
        # RGB only
        push @rows, [map { @l[$_ * $bpp .. $_ * $bpp + 2] } 0 .. $w - 1];
        @prev = @l;
    }
    return ($w, $ht, \@rows);
}

# png_diff.pl --ink A.png: prints the distinct colours of A and its share of non-white
# pixels (a screenshot that is not blank has many of both).
if ($ARGV[0] eq '--ink') {
    my ($w, $h, $r) = decode($ARGV[1]);
    my (%seen, $ink);
    for my $row (@$r) {
        for (my $i = 0; $i < @$row; $i += 3) {
            my $k = "$row->[$i],$row->[$i + 1],$row->[$i + 2]";
            $seen{$k} = 1;
            $ink++ if $k ne '255,255,255';
        }
    }
    printf "%d %.4f\n", scalar(keys %seen), ($ink // 0) / ($w * $h);
    exit 0;
}
my ($pa, $pb, $max) = @ARGV;
$max //= 0.01;
my ($wa, $ha, $ra) = decode($pa);
my ($wb, $hb, $rb) = decode($pb);
if ($wa != $wb || $ha != $hb) {
    print "size differs: ${wa}x$ha against ${wb}x$hb\n";
    exit 1;
}
my $bad = 0;
for my $y (0 .. $ha - 1) {
    my ($x, $y2) = ($ra->[$y], $rb->[$y]);
    for (my $i = 0; $i < @$x; $i += 3) {
        $bad++ if abs($x->[$i] - $y2->[$i]) > 64 || abs($x->[$i + 1] - $y2->[$i + 1]) > 64 ||
                  abs($x->[$i + 2] - $y2->[$i + 2]) > 64;
    }
}
my $share = $bad / ($wa * $ha);
printf "%d of %d pixels differ (%.3f%%)\n", $bad, $wa * $ha, 100 * $share;
exit($share <= $max ? 0 : 1);
